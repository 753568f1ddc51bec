package proto

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"testing"
)

// The decoders take input from any device on the network, so each is
// fuzzed: no input may make one panic or hang, every rejection must be an
// *Error that names its field, every accepted report must pass Validate,
// and a decode may allocate no more than allocLimit of its input's size.
// `go test ./proto` runs each target over its seed corpus (the vectors, the
// malformed ones included, and cuts of them); to fuzz, run one target at a
// time:
//
//	go test ./proto -run '^$' -fuzz '^FuzzDecodeJSON$' -fuzztime 30s
//	go test ./proto -run '^$' -fuzz '^FuzzDecodeCBOR$' -fuzztime 30s
//	go test ./proto -run '^$' -fuzz '^FuzzDecodeMsgPack$' -fuzztime 30s
//	go test ./proto -run '^$' -fuzz '^FuzzRoundTrip$' -fuzztime 30s
//
// Inputs that fail are written to testdata/fuzz/<target>/ and stay there as
// regression seeds.

func FuzzDecodeJSON(f *testing.F)    { fuzzDecode(f, JSON) }
func FuzzDecodeCBOR(f *testing.F)    { fuzzDecode(f, CBOR) }
func FuzzDecodeMsgPack(f *testing.F) { fuzzDecode(f, MsgPack) }

func fuzzDecode(f *testing.F, format Format) {
	for _, s := range fuzzSeeds(f) {
		if s.format == format {
			f.Add(s.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, format, data) })
}

// seed is one input of a fuzz seed corpus.
type seed struct {
	format Format
	data   []byte
}

// fuzzSeeds returns every vector in every encoding it has, and for the
// valid ones a few cuts (a truncated document exercises every "ends too
// soon" path).
func fuzzSeeds(t testing.TB) []seed {
	var out []seed
	for _, dir := range []string{"valid", "invalid"} {
		for _, v := range loadVectors(t, dir) {
			for _, f := range v.formats() {
				data := v.data[f]
				out = append(out, seed{f, data})
				if dir == "valid" {
					for _, n := range []int{1, len(data) / 3, len(data) / 2, len(data) - 1} {
						out = append(out, seed{f, data[:n]})
					}
				}
			}
		}
	}
	for _, f := range Formats {
		for _, s := range keyStyles {
			data, err := Encode(typicalReport(), f, s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, seed{f, data})
		}
	}
	return out
}

// allocLimit is the most a decode may allocate for an input of n bytes:
// 64 bytes per input byte, plus 16 KiB for the fixed costs (the report's
// block, the decoder when its pool is empty, an error message). The densest
// documents, pinned by TestAllocationBound, reach about 42 bytes per input
// byte (custom metrics of 12 bytes each, some 500 bytes each with the
// growth of their list, the set of names that finds one given twice, and
// the sort), 26 for a JSON list of empty strings (16-byte
// string headers in a slice grown by appending, up to 5 times its final
// size in all) and 16 for the same list in CBOR or MessagePack (sized once
// from its declared length, which is checked against the bytes left
// first). The factor of 64 leaves half as much again over the worst of them.
func allocLimit(n int) uint64 { return 64*uint64(n) + 16<<10 }

// allocatedBy returns the bytes allocated while fn runs.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkDecode decodes one input and checks the decoder's promises.
func checkDecode(t *testing.T, f Format, data []byte) {
	t.Helper()
	var rep *Report
	var err error
	if n := allocatedBy(func() { rep, err = Decode(f, data) }); n > allocLimit(len(data)) {
		t.Fatalf("decoding %d bytes of %v allocated %d bytes, over %d", len(data), f, n, allocLimit(len(data)))
	}
	if rep == nil {
		t.Fatalf("Decode returned a nil report (error %v)", err)
	}
	checkDecodeInto(t, f, data, rep, err)
	if err != nil {
		checkRejection(t, err)
		return
	}
	if err := rep.Validate(); err != nil {
		t.Fatalf("accepted report does not validate: %v\n%s", err, goldenText(t, rep, nil))
	}
}

// reused is the buffer checkDecodeInto reads every document into, so that
// each decode meets what the one before left in it.
var reused struct {
	sync.Mutex
	buf ReportBuffer
}

// checkDecodeInto reads the document into a reused buffer: the report and
// the error must be those of Decode.
func checkDecodeInto(t *testing.T, f Format, data []byte, want *Report, wantErr error) {
	t.Helper()
	reused.Lock()
	defer reused.Unlock()
	got, err := DecodeOptions{}.DecodeInto(&reused.buf, f, data)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("DecodeInto: error %v, Decode: %v", err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeInto read another report than Decode:\n%s\nwant\n%s", goldenText(t, got, nil), goldenText(t, want, nil))
	}
}

// checkRejection checks that a decode error is an *Error of a decode code
// that names its field.
func checkRejection(t *testing.T, err error) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not an *Error: %v", err, err)
	}
	if pe.Code != InvalidPayload && pe.Code != ReportTooLarge {
		t.Fatalf("decode error has code %s: %v", pe.Code, pe)
	}
	if pe.Field == "" || pe.Message == "" {
		t.Fatalf("error has an empty field or message: %#v", pe)
	}
}
