package proto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// The hand-written readers are checked against the general-purpose
// decoders and encoders: encoding/json, fxamacker/cbor and
// vmihailenco/msgpack.

// TestReaderAgreesWithReferenceEncoders writes random reports with the
// reference encoders, from a generic map, and checks that our decoder reads
// them as it reads its own encoding.
func TestReaderAgreesWithReferenceEncoders(t *testing.T) {
	for seed := range uint64(300) {
		rep := newReportGen(seed).report()
		ours, err := Encode(rep, JSON, ShortKeys)
		if err != nil {
			t.Fatal(err)
		}
		generic := genericMap(t, ours)
		for _, f := range Formats {
			theirs := referenceMarshal(t, f, generic)
			got, err := unlimited.Decode(f, theirs)
			if err != nil {
				t.Fatalf("seed %d: %v document of the reference encoder rejected: %v\n%s", seed, f, err, printable(f, theirs))
			}
			if !reflect.DeepEqual(got, rep) {
				t.Fatalf("seed %d: %v document of the reference encoder decodes to\n%s\nwant\n%s", seed, f, goldenText(t, got, nil), goldenText(t, rep, nil))
			}
		}
	}
}

// TestReferenceDecodersAgree decodes our encoding of random reports with
// the reference decoders (strict about duplicates and UTF-8) and checks
// that each sees the same document as encoding/json sees in our JSON.
func TestReferenceDecodersAgree(t *testing.T) {
	for seed := range uint64(300) {
		rep := newReportGen(seed).report()
		for _, s := range keyStyles {
			js, err := Encode(rep, JSON, s)
			if err != nil {
				t.Fatal(err)
			}
			want := canonical(genericMap(t, js))
			for _, f := range []Format{CBOR, MsgPack} {
				data, err := Encode(rep, f, s)
				if err != nil {
					t.Fatal(err)
				}
				if got := canonical(referenceUnmarshal(t, f, data)); !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d: %v/%v decodes to\n%v\nwant\n%v", seed, f, s, got, want)
				}
			}
		}
	}
}

// genericMap reads JSON into maps, lists and typed numbers (int64, uint64,
// float64), as a program would before marshalling it again.
func genericMap(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return typedNumbers(t, v)
}

func typedNumbers(t *testing.T, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = typedNumbers(t, e)
		}
	case []any:
		for i, e := range x {
			x[i] = typedNumbers(t, e)
		}
	case json.Number:
		n, err := jsonNumberValue(x)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return v
}

func referenceMarshal(t *testing.T, f Format, v any) []byte {
	t.Helper()
	var data []byte
	var err error
	switch f {
	case JSON:
		data, err = json.Marshal(v)
	case CBOR:
		data, err = cbor.Marshal(v)
	case MsgPack:
		data, err = msgpack.Marshal(v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var strictCBOR = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:      cbor.DupMapKeyEnforcedAPF,
		DefaultMapType: reflect.TypeOf(map[string]any(nil)),
		IntDec:         cbor.IntDecConvertNone,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

func referenceUnmarshal(t *testing.T, f Format, data []byte) any {
	t.Helper()
	var v any
	var err error
	switch f {
	case CBOR:
		err = strictCBOR.Unmarshal(data, &v)
	case MsgPack:
		err = msgpack.Unmarshal(data, &v)
	}
	if err != nil {
		t.Fatalf("the reference %v decoder refuses our encoding: %v\n% x", f, err, data)
	}
	return v
}

// canonical rewrites a generic value so that equal documents compare
// equal: every number becomes its exact decimal value as a string (an
// integer written as a float is the same number).
func canonical(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = canonical(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonical(e)
		}
		return out
	case float32:
		return exactDecimal(float64(x))
	case float64:
		return exactDecimal(x)
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return fmt.Sprint(x)
	}
	return v
}

func exactDecimal(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if f == 0 {
		return "0" // -0 and 0 are the same number in JSON
	}
	r, _ := new(big.Float).SetFloat64(f).Rat(nil)
	if r.IsInt() {
		return r.Num().String()
	}
	return r.RatString()
}
