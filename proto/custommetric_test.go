package proto

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestReportCustom(t *testing.T) {
	sorted := &Report{CustomMetrics: []CustomMetric{
		{"a", CustomValue{Type: CustomNumber, Number: 1}},
		{"cpu", CustomValue{Type: CustomNumberList, Numbers: []float64{2}}},
		{"z:z", CustomValue{Type: CustomStringList, Strings: []string{"3"}}},
	}}
	for _, c := range []struct {
		name   string
		report *Report
		metric string
		want   CustomValue
		ok     bool
	}{
		{"first", sorted, "a", sorted.CustomMetrics[0].Value, true},
		{"middle", sorted, "cpu", sorted.CustomMetrics[1].Value, true},
		{"last", sorted, "z:z", sorted.CustomMetrics[2].Value, true},
		{"before the first", sorted, "A", CustomValue{}, false},
		{"between", sorted, "b", CustomValue{}, false},
		{"after the last", sorted, "zz", CustomValue{}, false},
		{"prefix of a name", sorted, "cp", CustomValue{}, false},
		{"empty name", sorted, "", CustomValue{}, false},
		{"no custom metrics", &Report{}, "cpu", CustomValue{}, false},
		{"empty custom metrics", &Report{CustomMetrics: []CustomMetric{}}, "cpu", CustomValue{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.report.Custom(c.metric)
			if ok != c.ok || !reflect.DeepEqual(got, c.want) {
				t.Errorf("Custom(%q) = %+v, %v; want %+v, %v", c.metric, got, ok, c.want, c.ok)
			}
		})
	}
}

// customDocument is a report whose custom_metrics block (spelled root) holds
// a number metric for each name, in the order given, its value the name's
// index.
func customDocument(root string, names []string) string {
	var b strings.Builder
	b.WriteString(`{` + hdr + `,"` + root + `":{`)
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s":[{"number":%d}]`, name, i)
	}
	b.WriteString(`}}`)
	return b.String()
}

// metricNamesN returns n distinct metric names that sort in the order
// given: m000, m001, ...
func metricNamesN(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("m%03d", i)
	}
	return names
}

// encodeIn writes a JSON document in format f.
func encodeIn(t *testing.T, doc string, f Format) []byte {
	t.Helper()
	if f == JSON {
		return []byte(doc)
	}
	data, err := transcode([]byte(doc), f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDecodeSortsCustomMetrics checks that custom metrics come out in name
// order, each with its own value, whatever the order of the document.
func TestDecodeSortsCustomMetrics(t *testing.T) {
	for _, c := range []struct {
		name  string
		names []string
	}{
		{"one", []string{"cpu"}},
		{"sorted", []string{"a", "b", "c"}},
		{"reversed", []string{"c", "b", "a"}},
		{"shuffled", []string{"mem", "Zed", "cpu", "aa:1", "a-b", "a_b"}},
		// Past the count searched one by one for duplicates.
		{"many reversed", reversed(metricNamesN(40))},
		// A permutation of long cycles, for the sort that moves each
		// metric once.
		{"many shuffled", shuffled(metricNamesN(40), 7)},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := make([]CustomMetric, len(c.names))
			for i, name := range c.names {
				want[i] = CustomMetric{name, CustomValue{Type: CustomNumber, Number: float64(i)}}
			}
			slices.SortFunc(want, compareCustomNames)
			for _, f := range Formats {
				rep, err := Decode(f, encodeIn(t, customDocument("custom_metrics", c.names), f))
				if err != nil {
					t.Fatalf("%v: %v", f, err)
				}
				if !reflect.DeepEqual(rep.CustomMetrics, want) {
					t.Errorf("%v: got %+v\nwant %+v", f, rep.CustomMetrics, want)
				}
			}
		})
	}
}

// shuffled returns names in the order 0, step, 2*step, ... modulo their
// count, which must be prime to step.
func shuffled(names []string, step int) []string {
	out := make([]string, len(names))
	for i := range out {
		out[i] = names[i*step%len(names)]
	}
	return out
}

// reversed returns a reversed copy of names.
func reversed(names []string) []string {
	out := slices.Clone(names)
	slices.Reverse(out)
	return out
}

// TestCustomMetricGivenTwice checks that a name given twice is refused at
// its path, among few names (searched one by one) and many (through a set,
// which must see names read before and after it was built).
func TestCustomMetricGivenTwice(t *testing.T) {
	var cases []ruleCase
	for _, n := range []int{1, 2, 16, 17, 18, 40, 2000} {
		names := metricNamesN(n)
		for _, dup := range []struct {
			where string
			name  string
		}{
			{"first", names[0]},
			{"last", names[n-1]},
			{"middle", names[n/2]},
		} {
			doc := append(slices.Clone(names), dup.name)
			cases = append(cases,
				ruleCase{fmt.Sprintf("%d names, %s again", n, dup.where), customDocument("custom_metrics", doc), "custom_metrics." + dup.name + ": given twice"},
				ruleCase{fmt.Sprintf("%d names reversed, %s again, short keys", n, dup.where), customDocument("cmet", append(reversed(names), dup.name)), "cmet." + dup.name + ": given twice"},
			)
		}
		// The name given twice, then the rest: the refusal comes early.
		cases = append(cases, ruleCase{fmt.Sprintf("%d names, first twice at once", n), customDocument("custom_metrics", append([]string{names[0]}, names...)), "custom_metrics." + names[0] + ": given twice"})
	}
	checkRules(t, cases)
}

// TestDecodeCustomMetricsOrder checks the standalone block decoder's order
// and its empty, non-nil answer for an empty block.
func TestDecodeCustomMetricsOrder(t *testing.T) {
	got, err := DecodeCustomMetrics([]byte(`{"users":[{"string_list":[]}],"cpu":[{"number":1}]}`))
	want := []CustomMetric{
		{"cpu", CustomValue{Type: CustomNumber, Number: 1}},
		{"users", CustomValue{Type: CustomStringList, Strings: []string{}}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
	got, err = DecodeCustomMetrics([]byte(`{}`))
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty block: got %#v, %v; want an empty, non-nil list", got, err)
	}
	_, err = DecodeCustomMetrics([]byte(`{"a":[{"number":1}],"b":[{"number":1}],"a":[{"number":2}]}`))
	if pe, ok := err.(*Error); !ok || pe.Field != "custom_metrics.a" || pe.Message != "given twice" {
		t.Errorf("name twice: got %v, want custom_metrics.a: given twice", err)
	}
}

// TestEncodeCustomMetricsOrder checks that the encoder writes custom
// metrics in name order whatever their order in the report.
func TestEncodeCustomMetricsOrder(t *testing.T) {
	metric := func(name string, n float64) CustomMetric {
		return CustomMetric{name, CustomValue{Type: CustomNumber, Number: n}}
	}
	sorted := &Report{Header: Header{ReportID: 1, Version: "1.0"}, CustomMetrics: []CustomMetric{metric("a", 1), metric("b", 2), metric("c", 3)}}
	shuffled := &Report{Header: sorted.Header, CustomMetrics: []CustomMetric{metric("c", 3), metric("a", 1), metric("b", 2)}}
	before := slices.Clone(shuffled.CustomMetrics)
	for _, f := range Formats {
		for _, s := range keyStyles {
			want, err := Encode(sorted, f, s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Encode(shuffled, f, s)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%v/%v: got %s, %v; want %s", f, s, printable(f, got), err, printable(f, want))
			}
		}
	}
	if !reflect.DeepEqual(shuffled.CustomMetrics, before) {
		t.Errorf("Encode reordered the report's custom metrics: %+v", shuffled.CustomMetrics)
	}
}

// TestEncodeCustomMetricTwice checks that the encoder refuses a custom
// metric name given twice, naming it in the key style asked for, since no
// document can hold it.
func TestEncodeCustomMetricTwice(t *testing.T) {
	metric := func(name string) CustomMetric {
		return CustomMetric{name, CustomValue{Type: CustomNumber}}
	}
	for _, c := range []struct {
		name    string
		metrics []CustomMetric
		twice   string
	}{
		{"adjacent in order", []CustomMetric{metric("a"), metric("b"), metric("b")}, "b"},
		{"first and last", []CustomMetric{metric("a"), metric("b"), metric("a")}, "a"},
		{"out of order", []CustomMetric{metric("c"), metric("b"), metric("a"), metric("c")}, "c"},
		{"empty name", []CustomMetric{metric(""), metric("")}, `""`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &Report{Header: Header{ReportID: 1, Version: "1.0"}, CustomMetrics: c.metrics}
			for _, f := range Formats {
				for _, s := range keyStyles {
					root := "custom_metrics"
					if s == ShortKeys {
						root = "cmet"
					}
					data, err := Encode(r, f, s)
					var pe *Error
					if !errors.As(err, &pe) || pe.Code != InvalidPayload || pe.Field != root+"."+c.twice || pe.Message != "given twice" {
						t.Errorf("%v/%v: got %q, %v; want InvalidPayload %s.%s: given twice", f, s, data, err, root, c.twice)
					}
				}
			}
			var pe *Error
			if err := r.Validate(); !errors.As(err, &pe) || pe.Field != "custom_metrics."+c.twice || pe.Message != "given twice" {
				t.Errorf("Validate: got %v, want custom_metrics.%s: given twice", err, c.twice)
			}
		})
	}
}

// TestDecodeOneCustomMetricAllocation checks that a report's single custom
// metric takes no allocation but its name's: it lives in the report's
// block.
// The race detector drops pooled decoders at random, which blurs the count.
func TestDecodeOneCustomMetricAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts vary under the race detector")
	}
	base := `{` + hdr + `,"met":{}}`
	one := `{` + hdr + `,"met":{},"cmet":{"cpu":[{"number":1}]}}`
	for _, f := range []Format{CBOR, MsgPack} {
		without, with := encodeIn(t, base, f), encodeIn(t, one, f)
		decode := func(data []byte) func() {
			return func() {
				if _, err := Decode(f, data); err != nil {
					t.Fatal(err)
				}
			}
		}
		a, b := testing.AllocsPerRun(100, decode(without)), testing.AllocsPerRun(100, decode(with))
		if b != a+1 {
			t.Errorf("%v: %v allocations with one custom metric, %v without; want one more, for its name", f, b, a)
		}
	}
}

// BenchmarkDecodeManyCustomMetrics decodes a report of as many custom
// metrics as fit the default size limit in CBOR, in reverse name order: the
// check for names given twice and the sort must stay near linear.
func BenchmarkDecodeManyCustomMetrics(b *testing.B) {
	names := reversed(metricNamesN(7000))
	data, err := transcode([]byte(customDocument("cmet", names)), CBOR)
	if err != nil {
		b.Fatal(err)
	}
	if len(data) > DefaultMaxReportSize {
		b.Fatalf("%d bytes, over the limit", len(data))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(CBOR, data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSortCustom checks the decoder's sort against slices.SortFunc over
// random orders of every length up to past the point where it switches to
// sorting indexes.
func TestSortCustom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 3 * linearNames {
		for range 20 {
			list := make([]CustomMetric, n)
			for i, name := range metricNamesN(n) {
				list[i] = CustomMetric{name, CustomValue{Type: CustomNumber, Number: float64(i)}}
			}
			rng.Shuffle(n, func(i, j int) { list[i], list[j] = list[j], list[i] })
			want := slices.Clone(list)
			slices.SortFunc(want, compareCustomNames)
			sortCustom(list)
			if !reflect.DeepEqual(list, want) {
				t.Fatalf("%d metrics: got %v, want %v", n, list, want)
			}
		}
	}
}
