package proto

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// kind is the type of the next item in an encoded document.
type kind uint8

const (
	kindNull kind = iota + 1
	kindBool
	kindNumber
	kindString
	kindBytes
	kindList
	kindMap
	kindOther
)

// String describes the kind for error messages ("must be a map, got a list").
func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindBytes:
		return "a byte string"
	case kindList:
		return "a list"
	case kindMap:
		return "a map"
	}
	return "an unsupported item"
}

// number is a decoded number: an integer as sign and magnitude (CBOR's
// negative integers reach -2^64), or a float.
type number struct {
	isFloat bool
	neg     bool
	mag     uint64
	f       float64
}

// String formats the number for error messages.
func (n number) String() string {
	switch {
	case n.isFloat:
		return formatFloat(n.f)
	case n.neg:
		return "-" + strconv.FormatUint(n.mag, 10)
	}
	return strconv.FormatUint(n.mag, 10)
}

// formatFloat writes f in plain decimals when that stays short
// ("1530304554.5"), else with an exponent ("1.8446744073709552e+19").
func formatFloat(f float64) string {
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e15) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// isASCII reports whether b holds only ASCII bytes, so needs no further
// UTF-8 check. It reads words, the last one overlapping the one before, so
// that the short strings of a report take a load or two.
func isASCII(b []byte) bool {
	const high = 0x8080808080808080
	n := len(b)
	switch {
	case n >= 8:
		var or uint64
		for i := 0; i < n-8; i += 8 {
			or |= binary.LittleEndian.Uint64(b[i:])
		}
		return (or|binary.LittleEndian.Uint64(b[n-8:]))&high == 0
	case n >= 4:
		return (binary.LittleEndian.Uint32(b)|binary.LittleEndian.Uint32(b[n-4:]))&0x80808080 == 0
	case n > 0:
		return (b[0]|b[n/2]|b[n-1])&0x80 == 0
	}
	return true
}

// tokenReader is a pull reader over one encoded document. The schema walker
// in decode.go drives it; each format has one.
type tokenReader interface {
	// peek returns the kind of the next item without consuming it.
	peek() (kind, error)
	// openMap consumes the start of a map.
	openMap() error
	// nextKey returns the next key of the open map, or false after
	// consuming the map's end. The key is valid until the next call. next
	// is the kind of the value that follows the key, or 0 when the reader
	// cannot tell without an error, which peek then reports.
	nextKey() (key []byte, next kind, ok bool, err error)
	// openList consumes the start of a list.
	openList() error
	// listLen returns how many items the list just opened declares, capped
	// at what the bytes left can hold at minItemBytes bytes each, or -1
	// when the encoding does not say (JSON). Decoders use it to size slices
	// once; it is a hint, never trusted as the real count.
	listLen(minItemBytes int) int
	// nextItem reports whether another item of the open list follows, or
	// consumes the list's end and returns false. next is the item's kind,
	// or 0 as for nextKey.
	nextItem() (next kind, ok bool, err error)
	// readString consumes a text string; the bytes are valid until the
	// next call.
	readString() ([]byte, error)
	// readNumber consumes a number.
	readNumber() (number, error)
	// skip consumes the next item whatever it is.
	skip() error
	// finish checks that nothing but padding follows the document.
	finish() error
}

var (
	errTooDeep   = errors.New("nesting is deeper than the limit")
	errTruncated = errors.New("unexpected end of data")
	errTrailing  = errors.New("trailing data after the document")
)
