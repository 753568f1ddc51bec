package proto

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// jsonEmitter writes compact JSON.
type jsonEmitter struct {
	buf      []byte
	open     []jsonLevel
	afterKey bool
}

// jsonLevel is an open map or list: its closing byte and members so far.
type jsonLevel struct {
	closer  byte
	members int
}

// sep writes the comma before a member, except right after a key.
func (e *jsonEmitter) sep() {
	if e.afterKey {
		e.afterKey = false
		return
	}
	if top := len(e.open) - 1; top >= 0 {
		if e.open[top].members > 0 {
			e.buf = append(e.buf, ',')
		}
		e.open[top].members++
	}
}

func (e *jsonEmitter) mapHeader(int) {
	e.sep()
	e.buf = append(e.buf, '{')
	e.open = append(e.open, jsonLevel{closer: '}'})
}

func (e *jsonEmitter) listHeader(int) {
	e.sep()
	e.buf = append(e.buf, '[')
	e.open = append(e.open, jsonLevel{closer: ']'})
}

func (e *jsonEmitter) end() {
	top := len(e.open) - 1
	e.buf = append(e.buf, e.open[top].closer)
	e.open = e.open[:top]
}

func (e *jsonEmitter) key(s string) {
	e.sep()
	e.buf = appendJSONString(e.buf, s)
	e.buf = append(e.buf, ':')
	e.afterKey = true
}

func (e *jsonEmitter) str(s string) {
	e.sep()
	e.buf = appendJSONString(e.buf, s)
}

func (e *jsonEmitter) uint(v uint64) {
	e.sep()
	e.buf = strconv.AppendUint(e.buf, v, 10)
}

func (e *jsonEmitter) float(v float64) {
	e.sep()
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		e.buf = strconv.AppendFloat(e.buf, v, 'f', -1, 64)
		return
	}
	e.buf = strconv.AppendFloat(e.buf, v, 'g', -1, 64)
}

func (e *jsonEmitter) bytes() ([]byte, error) { return e.buf, nil }

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping what RFC 8259
// requires and replacing invalid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// cborEmitter writes CBOR with definite lengths and preferred (shortest)
// integer heads; floats are written as 64-bit.
type cborEmitter struct {
	buf []byte
}

func (e *cborEmitter) head(major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		e.buf = append(e.buf, m|byte(n))
	case n <= math.MaxUint8:
		e.buf = append(e.buf, m|24, byte(n))
	case n <= math.MaxUint16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, m|25), uint16(n))
	case n <= math.MaxUint32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, m|26), uint32(n))
	default:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, m|27), n)
	}
}

func (e *cborEmitter) mapHeader(n int)  { e.head(5, uint64(n)) }
func (e *cborEmitter) listHeader(n int) { e.head(4, uint64(n)) }
func (e *cborEmitter) end()             {}
func (e *cborEmitter) key(s string)     { e.str(s) }
func (e *cborEmitter) uint(v uint64)    { e.head(0, v) }

func (e *cborEmitter) str(s string) {
	e.head(3, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *cborEmitter) float(v float64) {
	e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xfb), math.Float64bits(v))
}

func (e *cborEmitter) bytes() ([]byte, error) { return e.buf, nil }

// msgpackEmitter writes MessagePack through msgpack's streaming encoder,
// keeping the first error.
type msgpackEmitter struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
	err error
}

func newMsgpackEmitter() *msgpackEmitter {
	e := &msgpackEmitter{}
	e.buf.Grow(384)
	e.enc = msgpack.NewEncoder(&e.buf)
	e.enc.UseCompactInts(true)
	return e
}

func (e *msgpackEmitter) keep(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *msgpackEmitter) mapHeader(n int)  { e.keep(e.enc.EncodeMapLen(n)) }
func (e *msgpackEmitter) listHeader(n int) { e.keep(e.enc.EncodeArrayLen(n)) }
func (e *msgpackEmitter) end()             {}
func (e *msgpackEmitter) key(s string)     { e.keep(e.enc.EncodeString(s)) }
func (e *msgpackEmitter) str(s string)     { e.keep(e.enc.EncodeString(s)) }
func (e *msgpackEmitter) uint(v uint64)    { e.keep(e.enc.EncodeUint(v)) }
func (e *msgpackEmitter) float(v float64)  { e.keep(e.enc.EncodeFloat64(v)) }

func (e *msgpackEmitter) bytes() ([]byte, error) { return e.buf.Bytes(), e.err }
