package proto

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The hostile inputs here are too big to commit, or are made from the
// committed vectors: deep nesting, every truncation, trailing bytes, and
// the densest documents the size limit lets through.

// withUnknownKey returns a minimal valid report in format f with one more
// root key, "x", holding the encoded value raw.
func withUnknownKey(t testing.TB, f Format, raw []byte) []byte {
	t.Helper()
	base, err := Encode(&Report{Header: Header{ReportID: 1, Version: "1.0"}, Metrics: &Metrics{}}, f, LongKeys)
	if err != nil {
		t.Fatal(err)
	}
	switch f {
	case JSON:
		return append(append(append(base[:len(base)-1:len(base)-1], `,"x":`...), raw...), '}')
	case CBOR:
		base[0] = 0xa3 // a map of 3, not 2
		return append(append(base, 0x61, 'x'), raw...)
	}
	base[0] = 0x83
	return append(append(base, 0xa1, 'x'), raw...)
}

// nestedLists encodes depth lists, each holding the next; the innermost is
// empty.
func nestedLists(f Format, depth int) []byte {
	switch f {
	case JSON:
		return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
	case CBOR:
		return append(bytes.Repeat([]byte{0x81}, depth-1), 0x80)
	}
	return append(bytes.Repeat([]byte{0x91}, depth-1), 0x90)
}

// nestedMaps encodes depth maps, each holding the next under key "x".
func nestedMaps(f Format, depth int) []byte {
	switch f {
	case JSON:
		return []byte(strings.Repeat(`{"x":`, depth-1) + "{}" + strings.Repeat("}", depth-1))
	case CBOR:
		return append(bytes.Repeat([]byte{0xa1, 0x61, 'x'}, depth-1), 0xa0)
	}
	return append(bytes.Repeat([]byte{0x81, 0xa1, 'x'}, depth-1), 0x80)
}

// wantError checks that err is an *Error with the given code and field, a
// message holding msg, and a message at all.
func wantError(t *testing.T, err error, code ErrorCode, field, msg string) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want an *Error %s at %s", err, code, field)
	}
	if pe.Code != code || pe.Field != field || pe.Message == "" || !strings.Contains(pe.Message, msg) {
		t.Fatalf("got %s %q: %q, want %s %q: ...%s...", pe.Code, pe.Field, pe.Message, code, field, msg)
	}
}

// TestNestingTenMegabytes sends 10 MB of nested lists under an unknown key:
// over the default limit it is refused for its size before it is read; with
// the limit raised to 16 MB it is read and refused for its depth, after
// MaxDepth levels, not ten million.
func TestNestingTenMegabytes(t *testing.T) {
	for _, f := range Formats {
		t.Run(f.String(), func(t *testing.T) {
			depth := 10 << 20 // one byte a level in CBOR and MessagePack
			if f == JSON {
				depth /= 2
			}
			data := withUnknownKey(t, f, nestedLists(f, depth))
			_, err := Decode(f, data)
			wantError(t, err, ReportTooLarge, "report", "over the limit of 131072 bytes")
			_, err = DecodeOptions{MaxSize: 16 << 20}.Decode(f, data)
			wantError(t, err, InvalidPayload, "x", "nested deeper than 32 levels")
		})
	}
}

// TestNestingWithinLimit sends 100,000 nested lists or maps under an
// unknown key in a document the size limit lets through (JSON needs two
// bytes a level, so its limit is raised to fit).
func TestNestingWithinLimit(t *testing.T) {
	for _, f := range Formats {
		for name, nest := range map[string]func(Format, int) []byte{"lists": nestedLists, "maps": nestedMaps} {
			t.Run(f.String()+"/"+name, func(t *testing.T) {
				data := withUnknownKey(t, f, nest(f, 100_000))
				opts := DecodeOptions{}
				if len(data) > DefaultMaxReportSize {
					opts.MaxSize = len(data)
				}
				_, err := opts.Decode(f, data)
				wantError(t, err, InvalidPayload, "x", "nested deeper than 32 levels")
			})
		}
	}
}

// TestNestingLimit pins MaxDepth: the document's map is the first level, so
// an unknown key may hold MaxDepth-1 levels and not one more, in every
// format.
func TestNestingLimit(t *testing.T) {
	for _, f := range Formats {
		for name, nest := range map[string]func(Format, int) []byte{"lists": nestedLists, "maps": nestedMaps} {
			t.Run(f.String()+"/"+name, func(t *testing.T) {
				if _, err := Decode(f, withUnknownKey(t, f, nest(f, MaxDepth-1))); err != nil {
					t.Errorf("%d levels: %v", MaxDepth, err)
				}
				_, err := Decode(f, withUnknownKey(t, f, nest(f, MaxDepth)))
				wantError(t, err, InvalidPayload, "x", "nested deeper than 32 levels")
			})
		}
	}
}

// TestTruncated cuts every valid vector at every byte, in every format: no
// cut may be accepted, and each rejection names a field.
func TestTruncated(t *testing.T) {
	for _, v := range loadVectors(t, "valid") {
		for _, f := range v.formats() {
			t.Run(v.name+"/"+f.String(), func(t *testing.T) {
				data := v.data[f]
				for n := range len(bytes.TrimRight(data, " \t\r\n")) {
					_, err := Decode(f, data[:n])
					if err == nil {
						t.Fatalf("accepted the first %d of %d bytes", n, len(data))
					}
					checkRejection(t, err)
				}
			})
		}
	}
}

// TestTrailingData appends a byte to every valid vector.
func TestTrailingData(t *testing.T) {
	for _, v := range loadVectors(t, "valid") {
		for _, f := range v.formats() {
			t.Run(v.name+"/"+f.String(), func(t *testing.T) {
				data := append(bytes.Clone(v.data[f]), '0')
				_, err := Decode(f, data)
				wantError(t, err, InvalidPayload, "report", "trailing data after the document")
			})
		}
	}
}

// TestSizeLimit checks the limit itself: a document of exactly the limit is
// read, one byte more is not.
func TestSizeLimit(t *testing.T) {
	for _, f := range Formats {
		t.Run(f.String(), func(t *testing.T) {
			data, err := Encode(typicalReport(), f, LongKeys)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := (DecodeOptions{MaxSize: len(data)}).Decode(f, data); err != nil {
				t.Errorf("at the limit: %v", err)
			}
			rep, err := DecodeOptions{MaxSize: len(data) - 1}.Decode(f, data)
			wantError(t, err, ReportTooLarge, "report", fmt.Sprintf("%d bytes is over the limit of %d bytes", len(data), len(data)-1))
			if rep == nil {
				t.Error("no report returned with the error")
			}
		})
	}
}
