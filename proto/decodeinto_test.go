package proto

import (
	"reflect"
	"testing"
)

// TestDecodeIntoReusedBuffer reads random reports, in every format and key
// style, one after the other into one buffer, with a broken document
// between them: each report read equals what Decode reads, and none keeps
// anything of the one before.
func TestDecodeIntoReusedBuffer(t *testing.T) {
	g := newReportGen(20261127)
	var buf ReportBuffer
	for i := range 300 {
		want := g.report()
		f, s := Formats[i%len(Formats)], keyStyles[i%len(keyStyles)]
		data, err := Encode(want, f, s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeOptions{}.DecodeInto(&buf, f, data)
		if err != nil {
			t.Fatalf("report %d (%v): %v", i, f, err)
		}
		fresh, _ := Decode(f, data)
		if !reflect.DeepEqual(got, fresh) {
			t.Fatalf("report %d (%v, %v): DecodeInto read\n%s\nDecode read\n%s", i, f, s, goldenText(t, got, nil), goldenText(t, fresh, nil))
		}
		if i%7 == 0 { // a broken document leaves the buffer in any state
			if _, err := (DecodeOptions{}).DecodeInto(&buf, f, data[:len(data)/2]); err == nil {
				t.Fatalf("report %d cut in half decoded", i)
			}
		}
	}
}

// TestDecodeIntoAllocations: a typical report read into a reused buffer
// allocates only its custom metric's name.
func TestDecodeIntoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops pooled decoders at random")
	}
	var buf ReportBuffer
	for _, f := range Formats {
		for _, s := range keyStyles {
			data, err := Encode(typicalReport(), f, s)
			if err != nil {
				t.Fatal(err)
			}
			n := testing.AllocsPerRun(100, func() {
				if _, err := (DecodeOptions{}).DecodeInto(&buf, f, data); err != nil {
					t.Fatal(err)
				}
			})
			if n > 1 {
				t.Errorf("%v/%v: %v allocations per report, want at most 1", f, s, n)
			}
		}
	}
}
