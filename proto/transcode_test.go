package proto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// The CBOR and MessagePack test vectors are the JSON ones transcoded by the
// general-purpose libraries: encoding/json reads the JSON into a generic
// value (numbers through UseNumber, so that integers stay integers), and
// fxamacker/cbor and vmihailenco/msgpack write that value. The generic value
// keeps the keys of a map in order, duplicates included, so that each
// encoding of a vector has the same first fault and the same golden result.

// object is a JSON object read in order, with repeated keys kept.
type object []member

type member struct {
	key   string
	value any
}

// cborVectorMode writes floats in the shortest exact width (so vectors hold
// half, single and double precision floats) and integers in the shortest
// head, as constrained devices do.
var cborVectorMode = func() cbor.EncMode {
	em, err := cbor.EncOptions{
		ShortestFloat: cbor.ShortestFloat16,
		NaNConvert:    cbor.NaNConvert7e00,
		InfConvert:    cbor.InfConvertFloat16,
	}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// MarshalCBOR writes the object as a CBOR map of definite length, its keys
// in order.
func (o object) MarshalCBOR() ([]byte, error) {
	b := appendCBORHead(nil, 5, uint64(len(o)))
	for _, m := range o {
		k, err := cborVectorMode.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := cborVectorMode.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b = append(append(b, k...), v...)
	}
	return b, nil
}

// appendCBORHead appends the shortest head of a CBOR item: the one thing
// the library cannot be asked to write for an ordered map.
func appendCBORHead(b []byte, major byte, n uint64) []byte {
	e := cborEmitter{buf: b}
	e.head(major, n)
	return e.buf
}

// EncodeMsgpack writes the object as a MessagePack map, its keys in order.
func (o object) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeMapLen(len(o)); err != nil {
		return err
	}
	for _, m := range o {
		if err := enc.EncodeString(m.key); err != nil {
			return err
		}
		if err := enc.Encode(m.value); err != nil {
			return err
		}
	}
	return nil
}

// readJSONTree reads one JSON document into a generic value: nil, bool,
// string, int64, uint64, float64, []any or object.
func readJSONTree(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSONValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the document")
	}
	return v, nil
}

func readJSONValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return readJSONObject(dec)
		}
		return readJSONArray(dec)
	case json.Number:
		return jsonNumberValue(t)
	}
	return tok, nil
}

func readJSONObject(dec *json.Decoder) (any, error) {
	o := object{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := readJSONValue(dec)
		if err != nil {
			return nil, err
		}
		o = append(o, member{key: k.(string), value: v})
	}
	_, err := dec.Token() // '}'
	return o, err
}

func readJSONArray(dec *json.Decoder) (any, error) {
	a := []any{}
	for dec.More() {
		v, err := readJSONValue(dec)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	_, err := dec.Token() // ']'
	return a, err
}

// jsonNumberValue turns a JSON number into an int64 or uint64 when it is an
// integer that fits, else a float64 (±Inf when it overflows, as 1e999).
func jsonNumberValue(n json.Number) (any, error) {
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
		return u, nil
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, err
	}
	return f, nil
}

// transcodable reports whether a JSON vector can be transcoded: it must be
// well-formed JSON in valid UTF-8 (encoding/json would replace invalid
// bytes, and the copy would no longer hold the fault).
func transcodable(data []byte) bool {
	return json.Valid(data) && utf8.Valid(data)
}

// transcode writes a JSON document in another format.
func transcode(data []byte, to Format) ([]byte, error) {
	v, err := readJSONTree(data)
	if err != nil {
		return nil, err
	}
	return marshalGeneric(v, to)
}

// marshalGeneric writes a generic value with the general-purpose encoder of
// a format.
func marshalGeneric(v any, to Format) ([]byte, error) {
	switch to {
	case JSON:
		return json.Marshal(jsonGeneric(v))
	case CBOR:
		return cborVectorMode.Marshal(v)
	case MsgPack:
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(true)
		enc.UseCompactFloats(true)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown format %v", to)
}

// jsonGeneric turns objects into maps for encoding/json (which then sorts
// the keys).
func jsonGeneric(v any) any {
	switch t := v.(type) {
	case object:
		m := make(map[string]any, len(t))
		for _, e := range t {
			m[e.key] = jsonGeneric(e.value)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonGeneric(e)
		}
		return out
	}
	return v
}

// parseHexVector reads a vector written as hex: pairs of hex digits,
// spaces and line breaks ignored, "#" starting a comment to the end of the
// line.
func parseHexVector(text []byte) ([]byte, error) {
	var digits strings.Builder
	for line := range strings.Lines(string(text)) {
		line, _, _ = strings.Cut(line, "#")
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	return hex.DecodeString(digits.String())
}
