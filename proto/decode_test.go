package proto

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// The tests in this file pin the decoding rules of the package doc, one
// table row per edge. Each document is written once, in JSON, and decoded
// in every encoding it can be transcoded to.

const (
	hdr = `"header":{"report_id":1,"version":"1.0"}`
	met = `"metrics":{}`
)

// ruleCase is a document and its expected outcome: "" to be accepted, or
// "field: words of the message".
type ruleCase struct {
	name, doc, want string
}

func checkRules(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range Formats {
				data := []byte(c.doc)
				if f != JSON {
					if !transcodable(data) {
						continue
					}
					var err error
					if data, err = transcode(data, f); err != nil {
						t.Fatal(err)
					}
				}
				_, err := Decode(f, data)
				checkRule(t, f, err, c.want)
			}
		})
	}
}

func checkRule(t *testing.T, f Format, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%v: rejected: %v", f, err)
	case want == "":
	case err == nil:
		t.Errorf("%v: accepted, want %q", f, want)
	default:
		field, words, _ := strings.Cut(want, ": ")
		pe, ok := err.(*Error)
		if !ok || pe.Code != InvalidPayload || pe.Field != field || !strings.Contains(pe.Message, words) {
			t.Errorf("%v: got %v, want InvalidPayload %s", f, err, want)
		}
	}
}

func TestRuleDocument(t *testing.T) {
	checkRules(t, []ruleCase{
		{"header and metrics", `{` + hdr + `,` + met + `}`, ""},
		{"header and custom metrics", `{` + hdr + `,"custom_metrics":{}}`, ""},
		{"header and both", `{` + hdr + `,` + met + `,"custom_metrics":{}}`, ""},
		{"metrics null", `{` + hdr + `,"metrics":null}`, "report: must hold metrics or custom_metrics"},
		{"short keys named short", `{"hed":{"rid":1,"v":"1.0"}}`, "report: must hold met or cmet"},
		{"header missing, short keys", `{"met":{}}`, "hed: is required"},
		{"header not a map", `{"header":"1.0",` + met + `}`, "header: must be a map, got a string"},
		{"document not a map", `"report"`, "report: must be a map, got a string"},
		{"document null", `null`, "report: must be a map, got null"},
		{"metrics a list", `{` + hdr + `,"metrics":[]}`, "metrics: must be a map, got a list"},
	})
}

func TestRuleReportID(t *testing.T) {
	doc := func(id string) string { return `{"header":{"report_id":` + id + `,"version":"1.0"},` + met + `}` }
	checkRules(t, []ruleCase{
		{"1", doc("1"), ""},
		{"2^63-1", doc("9223372036854775807"), ""},
		{"float holding an integer", doc("1530304554.0"), ""},
		{"exponent", doc("1.5e3"), ""},
		{"0", doc("0"), "header.report_id: must be a positive integer, got 0"},
		{"-0", doc("-0"), "header.report_id: must be a positive integer, got 0"},
		{"-1", doc("-1"), "header.report_id: got -1"},
		{"2^63", doc("9223372036854775808"), "header.report_id: at most 2^63-1"},
		{"2^64", doc("18446744073709551616"), "header.report_id: at most 2^63-1"},
		{"fraction", doc("1.5"), "header.report_id: got 1.5"},
		{"string", doc(`"1"`), "header.report_id: must be a number, got a string"},
		{"short, missing", `{"hed":{"v":"1.0"},"met":{}}`, "hed.rid: is required"},
		{"long, missing", `{"header":{},"met":{}}`, "header.report_id: is required"},
		{"null is missing", `{"header":{"report_id":null,"version":"1.0"},"met":{}}`, "header.report_id: is required"},
	})
}

func TestRuleVersion(t *testing.T) {
	doc := func(v string) string { return `{"header":{"report_id":1,"version":"` + v + `"},` + met + `}` }
	checkRules(t, []ruleCase{
		{"1.0", doc("1.0"), ""},
		{"1.1", doc("1.1"), ""},
		{"1.999", doc("1.999"), ""},
		{"01.0", doc("01.0"), ""},
		{"2.0", doc("2.0"), "header.version: major version 2 is not supported"},
		{"0.9", doc("0.9"), "header.version: major version 0 is not supported"},
		{"1", doc("1"), `header.version: must be a "Major.Minor" version string, got "1"`},
		{"1.0.0", doc("1.0.0"), "header.version: got \"1.0.0\""},
		{"1.x", doc("1.x"), "header.version: got \"1.x\""},
		{"empty", doc(""), "header.version: got \"\""},
		{"v1.0", doc("v1.0"), "header.version: got \"v1.0\""},
		{"short, missing", `{"hed":{"rid":1},"met":{}}`, "hed.v: is required"},
	})
}

func TestRuleCounts(t *testing.T) {
	doc := func(n string) string { return `{` + hdr + `,"met":{"ns":{"bi":` + n + `}}}` }
	checkRules(t, []ruleCase{
		{"0", doc("0"), ""},
		{"2^64-1", doc("18446744073709551615"), ""},
		{"float holding an integer", doc("2048.0"), ""},
		{"exponent", doc("1e19"), ""},
		{"-0", doc("-0"), ""},
		{"2^64", doc("18446744073709551616"), "met.ns.bi: must be a non-negative integer, got 1.8446744073709552e+19"},
		{"-1", doc("-1"), "met.ns.bi: got -1"},
		{"fraction", doc("0.5"), "met.ns.bi: got 0.5"},
		{"boolean", doc("true"), "met.ns.bi: must be a number, got a boolean"},
		{"list", doc("[1]"), "met.ns.bi: must be a number, got a list"},
		{"port list total", `{` + hdr + `,"met":{"up":{"t":-3}}}`, "met.up.t: got -3"},
		{"connections total", `{` + hdr + `,"met":{"tc":{"ec":{"t":0.25}}}}`, "met.tc.ec.t: got 0.25"},
	})
}

func TestRulePorts(t *testing.T) {
	listening := func(p string) string { return `{` + hdr + `,"met":{"tp":{"pts":[{"pt":` + p + `}]}}}` }
	local := func(p string) string {
		return `{` + hdr + `,"met":{"tc":{"ec":{"cs":[{"rad":"10.0.0.1:80","lp":` + p + `}]}}}}`
	}
	checkRules(t, []ruleCase{
		{"listening 1", listening("1"), ""},
		{"listening 65535", listening("65535"), ""},
		{"listening 0", listening("0"), "met.tp.pts[0].pt: must be a port number from 1 to 65535, got 0"},
		{"listening 65536", listening("65536"), "met.tp.pts[0].pt: got 65536"},
		{"listening -22", listening("-22"), "met.tp.pts[0].pt: got -22"},
		{"listening string", listening(`"22"`), "met.tp.pts[0].pt: must be a number, got a string"},
		{"local 0", local("0"), ""},
		{"local 65535", local("65535"), ""},
		{"local 65536", local("65536"), "met.tc.ec.cs[0].lp: must be a port number from 0 to 65535, got 65536"},
		{"ports not a list", `{` + hdr + `,"met":{"tp":{"pts":{"pt":22}}}}`, "met.tp.pts: must be a list, got a map"},
		{"port not a map", `{` + hdr + `,"met":{"tp":{"pts":[22]}}}`, "met.tp.pts[0]: must be a map, got a number"},
	})
}

func TestRuleRemoteAddr(t *testing.T) {
	doc := func(a string) string { return `{` + hdr + `,"metrics":{"tc":{"ec":{"cs":[{"rad":"` + a + `"}]}}}}` }
	cases := []ruleCase{
		{"IPv4", doc("192.168.0.1:8000"), ""},
		{"IPv4, port 0", doc("192.168.0.1:0"), ""},
		{"IPv6", doc("[2001:db8::1]:443"), ""},
		{"IPv6 with a zone", doc("[fe80::1%eth0]:22"), ""},
		{"IPv4-mapped IPv6", doc("[::ffff:192.0.2.1]:80"), ""},
		{"missing", `{` + hdr + `,"metrics":{"tc":{"ec":{"cs":[{"rad":"1.1.1.1:1"},{"lp":80}]}}}}`, "metrics.tc.ec.cs[1].rad: is required"},
		{"a number", `{` + hdr + `,"metrics":{"tc":{"ec":{"cs":[{"rad":80}]}}}}`, "metrics.tc.ec.cs[0].rad: must be a string, got a number"},
	}
	for _, a := range []string{"300.1.1.1:80", "host:80", "1.2.3.4", "[::1]:99999", "::1:443", "[1.2.3.4]:80", " 1.2.3.4:80", "1.2.3.4:80 ", "01.2.3.4:80", "1.2.3.4:-1", "", ":80", "[::1]"} {
		cases = append(cases, ruleCase{"bad " + a, doc(a), `metrics.tc.ec.cs[0].rad: must be "ip:port" with an IPv4 or [IPv6] address, got "` + a + `"`})
	}
	checkRules(t, cases)
}

func TestRuleCustomMetrics(t *testing.T) {
	doc := func(v string) string { return `{` + hdr + `,"cmet":{"m":` + v + `}}` }
	checkRules(t, []ruleCase{
		{"number", doc(`[{"number":-1.5}]`), ""},
		{"number_list", doc(`[{"number_list":[1,2.5,-3e-3]}]`), ""},
		{"empty number_list", doc(`[{"number_list":[]}]`), ""},
		{"string_list", doc(`[{"string_list":["a",""]}]`), ""},
		{"ip_list", doc(`[{"ip_list":["10.0.0.1","2001:db8::1","fe80::1%eth0"]}]`), ""},
		{"unknown key in value map", doc(`[{"number":1,"unit":"C"}]`), ""},
		{"null value key is absent", doc(`[{"number":null,"number_list":[1]}]`), ""},
		{"name with every kind of character", `{` + hdr + `,"cmet":{"aZ09:_-":[{"number":1}]}}`, ""},
		{"name of 128", `{` + hdr + `,"cmet":{"` + strings.Repeat("n", 128) + `":[{"number":1}]}}`, ""},
		{"not wrapped", doc(`{"number":0}`), "cmet.m: must be a list holding one value map"},
		{"number not a list", doc(`1`), "cmet.m: must be a list holding one value map, like [{\"number\": 1}], got a number"},
		{"two value maps", doc(`[{"number":1},{"number":2}]`), "cmet.m[1]: got more"},
		{"no value map", doc(`[]`), "cmet.m: got none"},
		{"value map empty", doc(`[{}]`), "cmet.m[0]: must hold one of number, number_list, string_list or ip_list"},
		{"two value keys", doc(`[{"string_list":[],"ip_list":[]}]`), "cmet.m[0].ip_list: is given with string_list"},
		{"value key twice", doc(`[{"number":1,"number":2}]`), "cmet.m[0].number: given twice"},
		{"item not a map", doc(`[1]`), "cmet.m[0]: must be a map, got a number"},
		{"number a string", doc(`[{"number":"1"}]`), "cmet.m[0].number: must be a number, got a string"},
		{"number_list of lists", doc(`[{"number_list":[[1]]}]`), "cmet.m[0].number_list[0]: must be a number, got a list"},
		{"string_list of numbers", doc(`[{"string_list":["a",1]}]`), "cmet.m[0].string_list[1]: must be a string, got a number"},
		{"ip_list of names", doc(`[{"ip_list":["localhost"]}]`), `cmet.m[0].ip_list[0]: must be an IPv4 or IPv6 address, got "localhost"`},
		{"ip_list with a port", doc(`[{"ip_list":["10.0.0.1:80"]}]`), `cmet.m[0].ip_list[0]: got "10.0.0.1:80"`},
		{"ip_list with a CIDR", doc(`[{"ip_list":["10.0.0.0/8"]}]`), `cmet.m[0].ip_list[0]: got "10.0.0.0/8"`},
		{"infinity", doc(`[{"number":-1e400}]`), "cmet.m[0].number: must be a finite number, got -Inf"},
		{"infinity in a list", doc(`[{"number_list":[1,1e400]}]`), "cmet.m[0].number_list[1]: must be a finite number, got +Inf"},
		{"name empty", `{` + hdr + `,"cmet":{"":[{"number":1}]}}`, `cmet."": is not a valid custom metric name`},
		{"name with a dot", `{` + hdr + `,"cmet":{"cpu.load":[{"number":1}]}}`, "cmet.cpu.load: is not a valid custom metric name"},
		{"name aws:", `{` + hdr + `,"cmet":{"aws:":[{"number":1}]}}`, "cmet.aws:: is not a valid custom metric name"},
		{"name AWS: is not aws:", `{` + hdr + `,"cmet":{"AWS:x":[{"number":1}]}}`, ""},
		{"name of 129", `{` + hdr + `,"cmet":{"` + strings.Repeat("n", 129) + `":[{"number":1}]}}`, "cmet." + strings.Repeat("n", 64) + "...: is not a valid"},
		{"custom_metrics a list", `{` + hdr + `,"custom_metrics":[]}`, "custom_metrics: must be a map, got a list"},
	})
}

func TestRuleDuplicateKeys(t *testing.T) {
	checkRules(t, []ruleCase{
		{"metrics and met", `{` + hdr + `,"metrics":{},"met":{}}`, "met: given twice, as metrics and as met"},
		{"bytes_in and bi", `{` + hdr + `,"met":{"ns":{"bi":1,"bytes_in":1}}}`, "met.ns.bytes_in: given twice, as bytes_in and as bi"},
		{"rid twice", `{"hed":{"rid":1,"rid":2,"v":"1.0"},"met":{}}`, "hed.rid: given twice"},
		{"null, then a value", `{"header":null,` + hdr + `,` + met + `}`, "header: given twice"},
		{"a value, then null", `{` + hdr + `,` + met + `,"met":null}`, "met: given twice, as metrics and as met"},
		{"connection key", `{` + hdr + `,"met":{"tc":{"ec":{"cs":[{"rad":"1.1.1.1:1","li":"a","local_interface":"b"}]}}}}`, "met.tc.ec.cs[0].local_interface: given twice, as local_interface and as li"},
		{"unknown keys may repeat", `{` + hdr + `,` + met + `,"x":1,"x":2}`, ""},
	})
}

func TestRuleUnknownKeysAndNulls(t *testing.T) {
	checkRules(t, []ruleCase{
		{"unknown keys everywhere", `{"header":{"report_id":1,"version":"1.0","x":[1,{"y":null}]},"metrics":{"x":{},"listening_tcp_ports":{"x":"y","ports":[{"port":1,"x":true}]},"network_stats":{"x":-1.5},"tcp_connections":{"x":[],"established_connections":{"x":1,"connections":[{"remote_addr":"1.1.1.1:1","x":null}]}}},"x":"y"}`, ""},
		{"nulls for every optional part", `{` + hdr + `,"metrics":{"listening_tcp_ports":null,"listening_udp_ports":{"ports":null,"total":null},"network_stats":{"bytes_in":null},"tcp_connections":{"established_connections":null}},"custom_metrics":null}`, ""},
		{"null interface", `{` + hdr + `,"metrics":{"listening_tcp_ports":{"ports":[{"port":1,"interface":null}]}}}`, ""},
		{"null port is missing", `{` + hdr + `,"metrics":{"listening_tcp_ports":{"ports":[{"port":null}]}}}`, "metrics.listening_tcp_ports.ports[0].port: is required"},
		{"null list item", `{` + hdr + `,"metrics":{"listening_tcp_ports":{"ports":[null]}}}`, "metrics.listening_tcp_ports.ports[0]: must be a map, got null"},
		{"mixed key styles", `{"hed":{"report_id":1,"v":"1.0"},"metrics":{"tp":{"ports":[{"pt":1,"interface":"eth0"}],"t":1}}}`, ""},
	})
}

func TestRuleInterfaceNames(t *testing.T) {
	doc := func(name string) string {
		return `{` + hdr + `,"met":{"tc":{"ec":{"cs":[{"rad":"1.1.1.1:1","li":"` + name + `"}]}}}}`
	}
	const bad = "met.tc.ec.cs[0].li: must be an interface name of at most 64 bytes without control characters"
	checkRules(t, []ruleCase{
		{"unicode", doc("wlan-ü"), ""},
		{"64 bytes", doc(strings.Repeat("é", 32)), ""},
		{"65 bytes", doc("x" + strings.Repeat("é", 32)), bad},
		{"tab", doc(`eth\t0`), bad},
		{"NUL", doc(`eth\u00000`), bad},
		{"DEL", doc("eth\x7f0"), bad},
		{"C1 control", doc("eth\u00850"), bad},
		{"not a string", `{` + hdr + `,"met":{"tp":{"pts":[{"pt":1,"if":0}]}}}`, "met.tp.pts[0].if: must be a string, got a number"},
	})
}

// TestRejectionKeepsReportID checks that a rejected report still returns
// the report id when the header came before the fault, for the reply.
func TestRejectionKeepsReportID(t *testing.T) {
	const doc = `{"header":{"report_id":77,"version":"1.0"},"metrics":{"network_stats":{"bytes_in":-1}}}`
	for _, f := range Formats {
		data, err := []byte(doc), error(nil)
		if f != JSON {
			data, err = transcode(data, f)
		}
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Decode(f, data)
		if err == nil || rep == nil || rep.Header.ReportID != 77 {
			t.Errorf("%v: got report %+v, error %v; want the id 77 and an error", f, rep, err)
		}
	}
}

func TestDecodeUnknownFormat(t *testing.T) {
	rep, err := Decode(Format(9), []byte("{}"))
	wantError(t, err, InvalidPayload, "report", "unknown format")
	if rep == nil {
		t.Error("no report returned with the error")
	}
}

// TestJSONSyntax pins the JSON grammar the reader accepts: RFC 8259, with
// no extensions.
func TestJSONSyntax(t *testing.T) {
	doc := func(v string) string { return `{` + hdr + `,` + met + `,"x":` + v + `}` }
	for _, c := range []ruleCase{
		{"whitespace everywhere", " \t\n\r{ \"header\" : { \"report_id\" : 1 , \"version\" : \"1.0\" } , \"metrics\" : { } } \r\n\t ", ""},
		{"escapes", doc(`"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"`), ""},
		{"lone surrogate becomes U+FFFD", doc(`"\ud800"`), ""},
		{"numbers", doc(`[0,-0,1.5,-1.5e-10,1E+2,123456789012345678901234567890]`), ""},
		{"literals", doc(`[true,false,null]`), ""},
		{"leading zero", doc(`01`), "report: malformed JSON at offset 60: expected ',' or '}'"},
		{"no digit after point", doc(`1.`), "x: malformed JSON"},
		{"no digit before point", doc(`.5`), "x: malformed JSON"},
		{"plus sign", doc(`+1`), "x: malformed JSON"},
		{"empty exponent", doc(`1e`), "x: malformed JSON"},
		{"minus alone", doc(`-`), "x: malformed JSON"},
		{"hex", doc(`0x10`), "report: malformed JSON"},
		{"truncated literal", doc(`tru`), "x: invalid literal"},
		{"NaN", doc(`NaN`), "x: unexpected character 'N'"},
		{"Infinity", doc(`-Infinity`), "x: malformed JSON"},
		{"single quotes", doc(`'a'`), "x: malformed JSON"},
		{"raw control character", doc("\"a\tb\""), "x: control character in string"},
		{"bad escape", doc(`"\x41"`), "x: invalid escape \\x"},
		{"short unicode escape", doc(`"\u12"`), "x: invalid \\u escape"},
		{"trailing comma in list", doc(`[1,]`), "x: malformed JSON"},
		{"trailing comma in map", `{` + hdr + `,` + met + `,}`, "report: malformed JSON"},
		{"missing comma", doc(`[1 2]`), "x: malformed JSON"},
		{"missing colon", `{"header" {"report_id":1,"version":"1.0"},` + met + `}`, "report: malformed JSON"},
		{"comment", `{` + hdr + `,` + met + `/* */}`, "report: malformed JSON"},
		{"byte order mark", "\ufeff{" + hdr + "," + met + "}", "report: malformed JSON at offset 0: unexpected character"},
		{"two documents", `{` + hdr + `,` + met + `}{}`, "report: trailing data after the document"},
		{"unclosed string", `{` + hdr + `,` + met + `,"x":"abc`, "x: the document ends too soon"},
		{"invalid UTF-8 in a key", "{" + hdr + "," + met + ",\"\xff\":1}", "report: string is not valid UTF-8"},
		{"invalid UTF-8 in an escaped string", doc("\"\\n\xff\""), "x: string is not valid UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(JSON, []byte(c.doc))
			checkRule(t, JSON, err, c.want)
		})
	}
}

// TestJSONEscapedStrings checks that escaped strings decode as
// encoding/json decodes them.
func TestJSONEscapedStrings(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`:                    "plain",
		`"tab\there"`:                "tab\there",
		`"\u00e9t\u00E9"`:            "été",
		`"\ud83d\ude00"`:             "😀",
		`"\ud800x"`:                  "\ufffdx",
		`"\udc00\ud800"`:             "\ufffd\ufffd",
		`"\ud800\u0041"`:             "\ufffdA",
		`"a\/b\\c\"d\b\f\n\r"`:       "a/b\\c\"d\b\f\n\r",
		`"` + "\u2028\u00e9" + `"`:   "\u2028é",
		`"\u0000"`:                   "\x00",
		`"` + "é" + `\n` + "é" + `"`: "é\né",
	} {
		doc := `{` + hdr + `,"cmet":{"m":[{"string_list":[` + in + `]}]}}`
		rep, err := Decode(JSON, []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := mustCustom(t, rep, "m").Strings[0]; got != want {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
}

// TestCBORNumbers checks the CBOR number forms against the values
// fxamacker/cbor decodes them to.
func TestCBORNumbers(t *testing.T) {
	for _, c := range []struct {
		name string
		item []byte
		want float64
	}{
		{"uint8", []byte{0x18, 0xff}, 255},
		{"uint64", []byte{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, math.MaxUint64},
		{"-1", []byte{0x20}, -1},
		{"-2^64", []byte{0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, -math.Exp2(64)},
		{"half 1.0", []byte{0xf9, 0x3c, 0x00}, 1},
		{"half -0", []byte{0xf9, 0x80, 0x00}, math.Copysign(0, -1)},
		{"half subnormal", []byte{0xf9, 0x00, 0x01}, math.Ldexp(1, -24)},
		{"half max", []byte{0xf9, 0x7b, 0xff}, 65504},
		{"single", []byte{0xfa, 0x3f, 0xc0, 0x00, 0x00}, 1.5},
		{"double", []byte{0xfb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}, math.Pi},
		{"tagged", []byte{0xc1, 0x18, 0x64}, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := decodeCBORCustomNumber(t, c.item)
			if got != c.want || math.Signbit(got) != math.Signbit(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestCBORHalfFloats checks every half-precision value against the
// conversion of fxamacker/cbor.
func TestCBORHalfFloats(t *testing.T) {
	for h := range 1 << 16 {
		var want float64
		item := []byte{0xf9, byte(h >> 8), byte(h)}
		if err := cbor.Unmarshal(item, &want); err != nil {
			t.Fatal(err)
		}
		got := float16ToFloat64(uint16(h))
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("half %#04x: got %v, want %v", h, got, want)
		}
	}
}

// decodeCBORCustomNumber decodes a report whose custom number is item.
func decodeCBORCustomNumber(t *testing.T, item []byte) float64 {
	t.Helper()
	prefix, err := transcode([]byte(`{`+hdr+`,"cmet":{"m":[{"number":null}]}}`), CBOR)
	if err != nil {
		t.Fatal(err)
	}
	data := append(bytes.Clone(prefix[:len(prefix)-1]), item...)
	rep, err := Decode(CBOR, data)
	if err != nil {
		t.Fatalf("% x: %v", data, err)
	}
	return mustCustom(t, rep, "m").Number
}

// TestMsgPackNumbers checks every MessagePack number form.
func TestMsgPackNumbers(t *testing.T) {
	for _, c := range []struct {
		name string
		item []byte
		want float64
	}{
		{"positive fixint", []byte{0x7f}, 127},
		{"negative fixint", []byte{0xe0}, -32},
		{"uint8", []byte{0xcc, 0xff}, 255},
		{"uint16", []byte{0xcd, 0xff, 0xff}, 65535},
		{"uint32", []byte{0xce, 0xff, 0xff, 0xff, 0xff}, math.MaxUint32},
		{"uint64", []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, math.MaxUint64},
		{"int8", []byte{0xd0, 0x80}, -128},
		{"int16", []byte{0xd1, 0x80, 0x00}, -32768},
		{"int32", []byte{0xd2, 0x80, 0x00, 0x00, 0x00}, math.MinInt32},
		{"int64", []byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, math.MinInt64},
		{"float32", []byte{0xca, 0x3f, 0xc0, 0x00, 0x00}, 1.5},
		{"float64", []byte{0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}, math.Pi},
	} {
		t.Run(c.name, func(t *testing.T) {
			prefix, err := transcode([]byte(`{`+hdr+`,"cmet":{"m":[{"number":null}]}}`), MsgPack)
			if err != nil {
				t.Fatal(err)
			}
			data := append(bytes.Clone(prefix[:len(prefix)-1]), c.item...)
			rep, err := Decode(MsgPack, data)
			if err != nil {
				t.Fatalf("% x: %v", data, err)
			}
			if got := mustCustom(t, rep, "m").Number; got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestMsgPackCounts checks that counts reach 2^64-1 and refuse negative
// integers in every width.
func TestMsgPackCounts(t *testing.T) {
	prefix, err := transcode([]byte(`{`+hdr+`,"met":{"ns":{"bi":null}}}`), MsgPack)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		item []byte
		want string
	}{
		{[]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ""},
		{[]byte{0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ""},
		{[]byte{0xff}, "met.ns.bi: got -1"},
		{[]byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, "met.ns.bi: got -9223372036854775808"},
		{[]byte{0xcb, 0x43, 0xf0, 0, 0, 0, 0, 0, 0}, "met.ns.bi: got 1.8446744073709552e+19"},
	} {
		_, err := Decode(MsgPack, append(bytes.Clone(prefix[:len(prefix)-1]), c.item...))
		checkRule(t, MsgPack, err, c.want)
	}
}

// TestKeyTables checks that the switch of keyOf, the key tables and
// keyIndex agree.
func TestKeyTables(t *testing.T) {
	for _, table := range [][]field{rootFields, headerFields, metricsFields, portsFields, portFields, statsFields, tcpFields, estabFields, connFields, customFields} {
		for i, f := range table {
			if id, short := keyOf([]byte(f.long)); id != f.id || short || int(keyIndex[id]) != i {
				t.Errorf("keyOf(%q) = %d, %v; index %d", f.long, id, short, keyIndex[id])
			}
			if id, short := keyOf([]byte(f.short)); id != f.id || short != (f.short != f.long) {
				t.Errorf("keyOf(%q) = %d, %v", f.short, id, short)
			}
		}
	}
	for _, unknown := range []string{"", "Header", "headers", "hed ", "x", "number-list"} {
		if id, _ := keyOf([]byte(unknown)); id != keyUnknown {
			t.Errorf("keyOf(%q) = %d", unknown, id)
		}
	}
}

// mustCustom returns the value of a report's custom metric, which must be
// there.
func mustCustom(t testing.TB, rep *Report, name string) CustomValue {
	t.Helper()
	v, ok := rep.Custom(name)
	if !ok {
		t.Fatalf("no custom metric %q in %+v", name, rep.CustomMetrics)
	}
	return v
}
