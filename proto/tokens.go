package proto

import (
	"errors"
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
		return strconv.FormatFloat(n.f, 'g', -1, 64)
	case n.neg:
		return "-" + strconv.FormatUint(n.mag, 10)
	}
	return strconv.FormatUint(n.mag, 10)
}

// tokenReader is a pull reader over one encoded document. The schema walker
// in decode.go drives it; each format has one.
type tokenReader interface {
	// peek returns the kind of the next item without consuming it.
	peek() (kind, error)
	// openMap consumes the start of a map.
	openMap() error
	// nextKey returns the next key of the open map, or false after
	// consuming the map's end. The key is valid until the next call.
	nextKey() ([]byte, bool, error)
	// openList consumes the start of a list.
	openList() error
	// nextItem reports whether another item of the open list follows, or
	// consumes the list's end and returns false.
	nextItem() (bool, error)
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
