package proto

import (
	"errors"
	"strings"
	"testing"
)

func TestReportTopicRoundTrip(t *testing.T) {
	things := []string{"t1", "my-thing_01:a", "温度计", "with space", strings.Repeat("x", MaxThingNameBytes), strings.Repeat("é", MaxThingNameBytes/2)}
	for _, root := range []string{RootVigil, RootAWS} {
		for _, f := range Formats {
			for _, reply := range []ReplyKind{NoReply, AcceptedTopic, RejectedTopic} {
				for _, thing := range things {
					want := ReportTopic{Root: root, Thing: thing, Format: f, Reply: reply}
					got, err := ParseReportTopic(want.String())
					if err != nil || got != want {
						t.Errorf("ParseReportTopic(%q) = %+v, %v; want %+v", want.String(), got, err, want)
					}
				}
			}
		}
	}
}

func TestReportTopicStrings(t *testing.T) {
	topic := ReportTopic{Root: RootAWS, Thing: "t1", Format: CBOR}
	for _, c := range []struct{ got, want string }{
		{topic.String(), "$aws/things/t1/defender/metrics/cbor"},
		{topic.ReplyTopic(Accepted).String(), "$aws/things/t1/defender/metrics/cbor/accepted"},
		{topic.ReplyTopic(Rejected).String(), "$aws/things/t1/defender/metrics/cbor/rejected"},
		{ReportTopic{Root: RootVigil, Thing: "t1", Format: MsgPack}.String(), "$vigil/things/t1/defender/metrics/msgpack"},
		{ReportFilter(RootVigil), "$vigil/things/+/defender/metrics/+"},
		{ThingReplyFilter(RootAWS, "t1", JSON), "$aws/things/t1/defender/metrics/json/+"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if topic.Reply != NoReply {
		t.Error("ReplyTopic changed the topic it was called on")
	}
}

// TestParseReportTopicShapes lists topics of the wrong shape: each is an
// error, and not an *Error (the thing name is not at fault).
// TestParseReportTopicAllocates nothing for a report topic: it runs twice
// for every report.
func TestParseReportTopicAllocates(t *testing.T) {
	topic := "$aws/things/lyon-f01-door-042/defender/metrics/cbor"
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseReportTopic(topic) }); n != 0 {
		t.Errorf("%v allocations per parse", n)
	}
}

func TestParseReportTopicShapes(t *testing.T) {
	for _, topic := range []string{
		"",
		"$vigil",
		"$vigil/things/t1",
		"$vigil/things/t1/defender/metrics",
		"$vigil/things/t1/defender/metrics/json/accepted/extra",
		"$vigil/thing/t1/defender/metrics/json",
		"$vigil/things/t1/defender/metric/json",
		"$vigil/things/t1/shadow/metrics/json",
		"$other/things/t1/defender/metrics/json",
		"vigil/things/t1/defender/metrics/json",
		"$VIGIL/things/t1/defender/metrics/json",
		"/$vigil/things/t1/defender/metrics/json",
		"$vigil/things/t1/defender/metrics/JSON",
		"$vigil/things/t1/defender/metrics/xml",
		"$vigil/things/t1/defender/metrics/",
		"$vigil/things/t1/defender/metrics/json/",
		"$vigil/things/t1/defender/metrics/json/ACCEPTED",
		"$vigil/things/t1/defender/metrics/json/+",
		"$vigil/things/t1/defender/metrics/+",
		"$vigil/things/t1/defender/metrics/#",
		"$vigil/things/t1/defender/metrics/json/accepted/a/b",
		"$vigil/things/t1/defender/metrics/json/accepted/a/b/c/d/e/f",
	} {
		_, err := ParseReportTopic(topic)
		var pe *Error
		if err == nil || errors.As(err, &pe) {
			t.Errorf("ParseReportTopic(%q): got %v, want a shape error", topic, err)
		}
	}
}

// TestThingNames pins the thing name rules, through ValidateThingName and
// through the topic.
func TestThingNames(t *testing.T) {
	for _, c := range []struct {
		name, thing string
		ok          bool
	}{
		{"128 bytes", strings.Repeat("a", 128), true},
		{"128 bytes of 2-byte characters", strings.Repeat("é", 64), true},
		{"129 bytes", strings.Repeat("a", 129), false},
		{"129 bytes of mixed width", "a" + strings.Repeat("é", 64), false},
		{"unicode", "温度计-01", true},
		{"punctuation", "a:b_c-d.e$f", true},
		{"empty", "", false},
		{"NUL", "t\x001", false},
		{"tab", "t\t1", false},
		{"newline", "t1\n", false},
		{"DEL", "t\x7f1", false},
		{"C1 control", "t\u00851", false},
		{"plus wildcard", "+", false},
		{"hash wildcard", "t#", false},
		{"plus inside", "a+b", false},
		{"slash", "a/b", false},
		{"invalid UTF-8", "t\xff", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkThingName(t, ValidateThingName(c.thing), c.ok)
			if strings.Contains(c.thing, "/") {
				return // a slash splits the topic: a shape error
			}
			topic := "$aws/things/" + c.thing + "/defender/metrics/json"
			got, err := ParseReportTopic(topic)
			checkThingName(t, err, c.ok)
			if got.Thing != c.thing {
				t.Errorf("ParseReportTopic(%q) returned thing %q", topic, got.Thing)
			}
		})
	}
}

func checkThingName(t *testing.T, err error, ok bool) {
	t.Helper()
	if ok {
		if err != nil {
			t.Errorf("refused: %v", err)
		}
		return
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != InvalidThingName || pe.Field != "thingName" || pe.Message == "" {
		t.Errorf("got %#v, want an InvalidThingName *Error for thingName", err)
	}
}

func TestViolationTopics(t *testing.T) {
	topic := ViolationTopic("prof-1", "t1")
	if topic != "$vigil/violations/prof-1/t1" {
		t.Errorf("ViolationTopic = %q", topic)
	}
	if p, th, err := ParseViolationTopic(topic); err != nil || p != "prof-1" || th != "t1" {
		t.Errorf("ParseViolationTopic(%q) = %q, %q, %v", topic, p, th, err)
	}
	active := ActiveViolationTopic("prof-1", "t1", "TCPPortsListening")
	if active != "$vigil/active-violations/prof-1/t1/TCPPortsListening" {
		t.Errorf("ActiveViolationTopic = %q", active)
	}
	if p, th, b, err := ParseActiveViolationTopic(active); err != nil || p != "prof-1" || th != "t1" || b != "TCPPortsListening" {
		t.Errorf("ParseActiveViolationTopic(%q) = %q, %q, %q, %v", active, p, th, b, err)
	}
	for _, bad := range []string{"", "$vigil/violations", "$vigil/violations/p", "$vigil/violations/p/", "$vigil/violations//t", "$vigil/violations/p/t/x", "$aws/violations/p/t", "$vigil/active-violations/p/t"} {
		if _, _, err := ParseViolationTopic(bad); err == nil {
			t.Errorf("ParseViolationTopic(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "$vigil/active-violations/p/t", "$vigil/active-violations/p/t/", "$vigil/active-violations//t/b", "$vigil/active-violations/p//b", "$vigil/active-violations/p/t/b/x", "$vigil/violations/p/t/b"} {
		if _, _, _, err := ParseActiveViolationTopic(bad); err == nil {
			t.Errorf("ParseActiveViolationTopic(%q) accepted", bad)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(f.String()); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, err)
		}
	}
	for _, bad := range []string{"", "JSON", "Cbor", "xml", "msgpack "} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) accepted", bad)
		}
	}
	if s := Format(0).String(); s != "format(0)" {
		t.Errorf("Format(0).String() = %q", s)
	}
	if LongKeys.String() != "long" || ShortKeys.String() != "short" {
		t.Error("KeyStyle names")
	}
}

// TestReportTopicStringAllocatesOnce keeps building a reply topic, which
// the detector does for every report, at a single allocation.
func TestReportTopicStringAllocatesOnce(t *testing.T) {
	for _, reply := range []ReplyKind{NoReply, AcceptedTopic, RejectedTopic} {
		rt := ReportTopic{Root: RootVigil, Thing: "door-000123", Format: JSON, Reply: reply}
		if n := testing.AllocsPerRun(100, func() { _ = rt.String() }); n != 1 {
			t.Errorf("%v: %v allocations, want 1", reply, n)
		}
	}
}
