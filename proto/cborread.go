package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// cborReader is a tokenReader over a CBOR data item (RFC 8949). It accepts
// definite and indefinite lengths, skips tags, and refuses byte strings,
// undefined and unknown simple values where the document needs something
// else. Lengths are checked against the bytes left before anything is
// allocated.
type cborReader struct {
	data  []byte
	pos   int
	nopen int    // containers open: left[:nopen] holds their items left
	buf   []byte // joined chunks of an indefinite string
	depth int    // containers being skipped, on top of those open
	// left holds, per open container, its items left, or -1 for an
	// indefinite length. It is indexed by nopen rather than resliced, so
	// that entering and leaving a container writes no slice header.
	left [MaxDepth]int64
}

var _ tokenReader = (*cborReader)(nil)

const cborBreak = 0xff

var errCBORBreak = errors.New("malformed CBOR: unexpected break")

func (r *cborReader) init(data []byte) {
	r.data, r.pos, r.nopen, r.depth = data, 0, 0, 0
	if cap(r.buf) > maxKeptBuffer {
		r.buf = nil
	}
}

func (r *cborReader) syntaxf(format string, args ...any) error {
	return fmt.Errorf("malformed CBOR at offset %d: %s", r.pos, fmt.Sprintf(format, args...))
}

// head reads an initial byte and its argument. For ai 31 it returns
// indefinite; for major type 7 the argument is the raw float bits.
func (r *cborReader) head() (major byte, arg uint64, indefinite bool, err error) {
	if r.pos >= len(r.data) {
		return 0, 0, false, errTruncated
	}
	ib := r.data[r.pos]
	major, ai := ib>>5, ib&0x1f
	r.pos++
	switch {
	case ai < 24:
		return major, uint64(ai), false, nil
	case ai == 31:
		return major, 0, true, nil
	case ai > 27:
		r.pos--
		return 0, 0, false, r.syntaxf("reserved additional information %d", ai)
	}
	size := 1 << (ai - 24)
	if len(r.data)-r.pos < size {
		return 0, 0, false, errTruncated
	}
	b := r.data[r.pos : r.pos+size]
	r.pos += size
	switch size {
	case 1:
		arg = uint64(b[0])
	case 2:
		arg = uint64(binary.BigEndian.Uint16(b))
	case 4:
		arg = uint64(binary.BigEndian.Uint32(b))
	default:
		arg = binary.BigEndian.Uint64(b)
	}
	return major, arg, false, nil
}

// skipTags consumes any tags before the next item.
func (r *cborReader) skipTags() error {
	for r.pos < len(r.data) && r.data[r.pos]>>5 == 6 {
		if _, _, indef, err := r.head(); err != nil {
			return err
		} else if indef {
			return r.syntaxf("indefinite tag")
		}
	}
	return nil
}

// cborKinds is the kind of the item each initial byte starts, or 0 for a
// tag, a break and a reserved byte, which peek handles.
var cborKinds = func() (t [256]kind) {
	for ib := range t {
		switch major, ai := ib>>5, ib&0x1f; {
		case ai >= 28 && ai <= 30, ib == cborBreak, major == 6:
		case major <= 1:
			t[ib] = kindNumber
		case major == 2:
			t[ib] = kindBytes
		case major == 3:
			t[ib] = kindString
		case major == 4:
			t[ib] = kindList
		case major == 5:
			t[ib] = kindMap
		case ib == 0xf4, ib == 0xf5:
			t[ib] = kindBool
		case ib == 0xf6:
			t[ib] = kindNull
		case ib == 0xf9, ib == 0xfa, ib == 0xfb:
			t[ib] = kindNumber
		default:
			t[ib] = kindOther
		}
	}
	return t
}()

func (r *cborReader) peek() (kind, error) {
	if r.pos >= len(r.data) {
		return 0, errTruncated
	}
	if k := cborKinds[r.data[r.pos]]; k != 0 {
		return k, nil
	}
	if err := r.skipTags(); err != nil {
		return 0, err
	}
	if r.pos >= len(r.data) {
		return 0, errTruncated
	}
	switch ib := r.data[r.pos]; {
	case ib == cborBreak:
		return 0, errCBORBreak
	case cborKinds[ib] == 0:
		return kindOther, nil // a reserved byte: head refuses it
	default:
		return cborKinds[ib], nil
	}
}

func (r *cborReader) open(want byte, perItem int64) error {
	if r.pos < len(r.data) && r.nopen < MaxDepth {
		// The common head: a definite length under 24.
		if ib := r.data[r.pos]; ib>>5 == want && ib&0x1f < 24 {
			n := int64(ib & 0x1f)
			if n*perItem <= int64(len(r.data)-r.pos-1) {
				r.pos++
				r.left[r.nopen] = n
				r.nopen++
				return nil
			}
		}
	}
	if err := r.skipTags(); err != nil {
		return err
	}
	major, n, indef, err := r.head()
	if err != nil {
		return err
	}
	if major != want {
		return r.syntaxf("expected major type %d, got %d", want, major)
	}
	if r.nopen >= MaxDepth {
		return errTooDeep
	}
	count := int64(-1)
	if !indef {
		if n > uint64(len(r.data)-r.pos)/uint64(perItem) {
			return r.syntaxf("length %d exceeds the data", n)
		}
		count = int64(n)
	}
	r.left[r.nopen] = count
	r.nopen++
	return nil
}

func (r *cborReader) openMap() error  { return r.open(5, 2) }
func (r *cborReader) openList() error { return r.open(4, 1) }

// more reports whether the open container has another member, and pops the
// container when it has none.
func (r *cborReader) more() (bool, error) {
	top := r.nopen - 1
	switch r.left[top] {
	case 0:
		r.nopen = top
		return false, nil
	case -1:
		if r.pos >= len(r.data) {
			return false, errTruncated
		}
		if r.data[r.pos] == cborBreak {
			r.pos++
			r.nopen = top
			return false, nil
		}
	default:
		r.left[top]--
	}
	return true, nil
}

func (r *cborReader) nextKey() ([]byte, kind, bool, error) {
	ok, err := r.more()
	if !ok || err != nil {
		return nil, 0, false, err
	}
	// The common key: a text string of under 24 bytes of ASCII, followed by
	// the value.
	if p := r.pos; p < len(r.data) {
		if n := int(r.data[p]) - 0x60; uint(n) < 24 && n < len(r.data)-p-1 {
			if key := r.data[p+1 : p+1+n]; isASCII(key) {
				r.pos = p + 1 + n
				return key, cborKinds[r.data[r.pos]], true, nil
			}
		}
	}
	return r.nextKeySlow()
}

// nextField is nextKey that also identifies the key as keyOf does. A short
// text key that spells a known key is ASCII, so only other keys are checked
// for it.
func (r *cborReader) nextField() (key []byte, id keyID, short bool, next kind, ok bool, err error) {
	ok, err = r.more()
	if !ok || err != nil {
		return nil, 0, false, 0, false, err
	}
	if p := r.pos; p < len(r.data) {
		if n := int(r.data[p]) - 0x60; uint(n) < 24 && n < len(r.data)-p-1 {
			key = r.data[p+1 : p+1+n]
			if id, short = keyOf(key); id != keyUnknown || isASCII(key) {
				r.pos = p + 1 + n
				return key, id, short, cborKinds[r.data[r.pos]], true, nil
			}
		}
	}
	key, next, ok, err = r.nextKeySlow()
	if ok {
		id, short = keyOf(key)
	}
	return key, id, short, next, ok, err
}

// nextKeySlow reads a key of the open map, after more, in any form.
func (r *cborReader) nextKeySlow() ([]byte, kind, bool, error) {
	k, err := r.peek()
	if err != nil {
		return nil, 0, false, err
	}
	if k != kindString {
		return nil, 0, false, r.syntaxf("map key is %s, not a text string", k)
	}
	key, err := r.readString()
	if err != nil {
		return nil, 0, false, err
	}
	return key, r.ahead(), true, nil
}

func (r *cborReader) nextItem() (kind, bool, error) {
	ok, err := r.more()
	if !ok || err != nil {
		return 0, ok, err
	}
	return r.ahead(), true, nil
}

func (r *cborReader) listLen(minItemBytes int) int {
	room := (len(r.data) - r.pos) / minItemBytes
	if n := r.left[r.nopen-1]; n >= 0 {
		return int(min(n, int64(room)))
	}
	// An indefinite list: count the items ahead, then come back. Each byte
	// is read at most twice, so this stays linear.
	start, count := r.pos, 0
	for count < room && r.pos < len(r.data) && r.data[r.pos] != cborBreak && r.skip() == nil {
		count++
	}
	r.pos = start
	return count
}

// ahead returns the kind of the next item, or 0 when it takes more than
// its first byte to tell (a tag), or when there is none.
func (r *cborReader) ahead() kind {
	if r.pos < len(r.data) {
		return cborKinds[r.data[r.pos]]
	}
	return 0
}

func (r *cborReader) readString() ([]byte, error) {
	// The common string: under 24 bytes of ASCII.
	if p := r.pos; p < len(r.data) {
		if n := int(r.data[p]) - 0x60; uint(n) < 24 && n < len(r.data)-p {
			if s := r.data[p+1 : p+1+n]; isASCII(s) {
				r.pos = p + 1 + n
				return s, nil
			}
		}
	}
	if err := r.skipTags(); err != nil {
		return nil, err
	}
	major, n, indef, err := r.head()
	if err != nil {
		return nil, err
	}
	if major != 3 {
		return nil, r.syntaxf("expected a text string")
	}
	var s []byte
	if indef {
		s, err = r.chunks(3, true)
	} else {
		s, err = r.take(n)
	}
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(s) {
		return nil, r.syntaxf("text string is not valid UTF-8")
	}
	return s, nil
}

func (r *cborReader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.data)-r.pos) {
		return nil, errTruncated
	}
	s := r.data[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

// chunks reads the definite chunks of an indefinite string of the given
// major type (2 bytes, 3 text) up to its break. With join it returns them
// joined; otherwise it only skips them.
func (r *cborReader) chunks(major byte, join bool) ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		if r.pos >= len(r.data) {
			return nil, errTruncated
		}
		if r.data[r.pos] == cborBreak {
			r.pos++
			return r.buf, nil
		}
		m, n, indef, err := r.head()
		if err != nil {
			return nil, err
		}
		if m != major || indef {
			return nil, r.syntaxf("bad chunk in indefinite string")
		}
		chunk, err := r.take(n)
		if err != nil {
			return nil, err
		}
		if join {
			r.buf = append(r.buf, chunk...)
		}
	}
}

func (r *cborReader) readNumber() (number, error) {
	if p := r.pos; p < len(r.data) && r.data[p] <= 0x1b { // the common unsigned integer
		if ib := r.data[p]; ib < 0x18 {
			r.pos++
			return number{mag: uint64(ib)}, nil
		}
		if n, ok := r.uintArg(p); ok {
			return number{mag: n}, nil
		}
		return number{}, errTruncated
	}
	if err := r.skipTags(); err != nil {
		return number{}, err
	}
	if r.pos >= len(r.data) {
		return number{}, errTruncated
	}
	ib := r.data[r.pos]
	major, arg, indef, err := r.head()
	if err != nil {
		return number{}, err
	}
	switch {
	case indef:
	case major == 0:
		return number{mag: arg}, nil
	case major == 1 && arg == math.MaxUint64:
		return number{isFloat: true, f: -math.Exp2(64)}, nil
	case major == 1:
		return number{neg: true, mag: arg + 1}, nil
	case ib == 0xf9:
		return number{isFloat: true, f: float16ToFloat64(uint16(arg))}, nil
	case ib == 0xfa:
		return number{isFloat: true, f: float64(math.Float32frombits(uint32(arg)))}, nil
	case ib == 0xfb:
		return number{isFloat: true, f: math.Float64frombits(arg)}, nil
	}
	return number{}, r.syntaxf("expected a number")
}

// uintArg reads the unsigned integer with a 1, 2, 4 or 8 byte argument at p,
// whose head is 0x18 to 0x1b; ok is false when the data ends before it.
func (r *cborReader) uintArg(p int) (n uint64, ok bool) {
	size := 1 << (r.data[p] - 0x18)
	b := r.data[p+1:]
	if len(b) < size {
		return 0, false
	}
	switch size {
	case 1:
		n = uint64(b[0])
	case 2:
		n = uint64(binary.BigEndian.Uint16(b))
	case 4:
		n = uint64(binary.BigEndian.Uint32(b))
	default:
		n = binary.BigEndian.Uint64(b)
	}
	r.pos = p + 1 + size
	return n, true
}

// float16ToFloat64 converts IEEE 754 half precision bits.
func float16ToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 31:
		if frac == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * math.Ldexp(frac+1024, exp-25)
}

func (r *cborReader) skip() error {
	if err := r.skipTags(); err != nil {
		return err
	}
	if r.pos < len(r.data) && r.data[r.pos] == cborBreak {
		return errCBORBreak
	}
	major, n, indef, err := r.head()
	if err != nil {
		return err
	}
	switch major {
	case 2, 3:
		if indef {
			_, err = r.chunks(major, false)
			return err
		}
		_, err = r.take(n)
		return err
	case 4, 5:
		return r.skipMembers(major, n, indef)
	}
	if indef {
		r.pos--
		return r.syntaxf("indefinite length on major type %d", major)
	}
	return nil
}

// skipMembers skips the items of a list (major 4) or the pairs of a map.
// The containers it enters count towards MaxDepth with those open.
func (r *cborReader) skipMembers(major byte, n uint64, indef bool) error {
	if r.nopen+r.depth >= MaxDepth {
		return errTooDeep
	}
	r.depth++
	defer func() { r.depth-- }()
	per := uint64(1)
	if major == 5 {
		per = 2
	}
	if !indef && n > uint64(len(r.data)-r.pos)/per {
		return r.syntaxf("length %d exceeds the data", n)
	}
	for i := uint64(0); indef || i < n*per; i++ {
		if indef && r.pos < len(r.data) && r.data[r.pos] == cborBreak {
			if major == 5 && i%2 == 1 {
				return r.syntaxf("map ends between a key and its value")
			}
			r.pos++
			return nil
		}
		if err := r.skip(); err != nil {
			return err
		}
	}
	return nil
}

func (r *cborReader) finish() error {
	if r.pos != len(r.data) {
		return errTrailing
	}
	return nil
}
