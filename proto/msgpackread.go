package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// msgpackReader is a tokenReader over a MessagePack document, built on the
// streaming API of github.com/vmihailenco/msgpack/v5. The library reads the
// numbers and container lengths; strings, binaries and extensions are read
// here, straight from the input, because the library allocates the length a
// header claims before finding out whether the data holds it. Every length
// is checked against the bytes left, and containers are skipped here with
// the depth limit.
type msgpackReader struct {
	data  []byte
	src   bytes.Reader
	dec   *msgpack.Decoder
	left  []int // per open container: items left
	depth int   // containers being skipped, on top of those in left
	stack [MaxDepth]int
}

var _ tokenReader = (*msgpackReader)(nil)

func (r *msgpackReader) init(data []byte) {
	r.data, r.left, r.depth = data, r.stack[:0], 0
	r.src.Reset(data)
	if r.dec == nil {
		r.dec = msgpack.NewDecoder(&r.src)
	} else {
		r.dec.Reset(&r.src)
	}
}

func msgpackKind(c byte) kind {
	switch {
	case msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Int64, c == msgpcode.Float, c == msgpcode.Double:
		return kindNumber
	case msgpcode.IsString(c):
		return kindString
	case msgpcode.IsBin(c):
		return kindBytes
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		return kindList
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		return kindMap
	case c == msgpcode.Nil:
		return kindNull
	case c == msgpcode.True, c == msgpcode.False:
		return kindBool
	}
	return kindOther
}

// pos is the offset of the next byte to read.
func (r *msgpackReader) pos() int { return len(r.data) - r.src.Len() }

func (r *msgpackReader) peek() (kind, error) {
	c, err := r.dec.PeekCode()
	if err != nil {
		return 0, errTruncated
	}
	return msgpackKind(c), nil
}

func (r *msgpackReader) open(want kind, perItem int) error {
	if k, err := r.peek(); err != nil {
		return err
	} else if k != want {
		return fmt.Errorf("malformed MessagePack: expected %s, got %s", want, k)
	}
	if len(r.left)+r.depth >= MaxDepth {
		return errTooDeep
	}
	n, err := r.containerLen(want)
	if err != nil {
		return err
	}
	if n > r.src.Len()/perItem {
		return fmt.Errorf("malformed MessagePack: length %d exceeds the data", n)
	}
	r.left = append(r.left, n)
	return nil
}

func (r *msgpackReader) containerLen(k kind) (int, error) {
	var n int
	var err error
	if k == kindMap {
		n, err = r.dec.DecodeMapLen()
	} else {
		n, err = r.dec.DecodeArrayLen()
	}
	if err != nil {
		return 0, wrapMsgpack(err)
	}
	if n < 0 {
		return 0, fmt.Errorf("malformed MessagePack: negative length")
	}
	return n, nil
}

func (r *msgpackReader) openMap() error  { return r.open(kindMap, 2) }
func (r *msgpackReader) openList() error { return r.open(kindList, 1) }

func (r *msgpackReader) listLen(minItemBytes int) int {
	return min(r.left[len(r.left)-1], r.src.Len()/minItemBytes)
}

func (r *msgpackReader) more() bool {
	top := len(r.left) - 1
	if r.left[top] == 0 {
		r.left = r.left[:top]
		return false
	}
	r.left[top]--
	return true
}

func (r *msgpackReader) nextKey() ([]byte, kind, bool, error) {
	if !r.more() {
		return nil, 0, false, nil
	}
	if k, err := r.peek(); err != nil {
		return nil, 0, false, err
	} else if k != kindString {
		return nil, 0, false, fmt.Errorf("malformed MessagePack: map key is %s, not a string", k)
	}
	key, err := r.readString()
	if err != nil {
		return nil, 0, false, err
	}
	return key, r.ahead(), true, nil
}

func (r *msgpackReader) nextItem() (kind, bool, error) {
	if !r.more() {
		return 0, false, nil
	}
	return r.ahead(), true, nil
}

// ahead returns the kind of the next item, or 0 at the end of the data.
func (r *msgpackReader) ahead() kind {
	k, err := r.peek()
	if err != nil {
		return 0
	}
	return k
}

// blob reads the header of the string, binary or extension at the reader's
// position: the header's size and the length of the data after it. ok is
// false for other items.
func (r *msgpackReader) blob() (head, n int, ok bool, err error) {
	p := r.pos()
	if p >= len(r.data) {
		return 0, 0, false, errTruncated
	}
	c := r.data[p]
	switch {
	case msgpcode.IsFixedString(c):
		return 1, int(c & msgpcode.FixedStrMask), true, nil
	case c >= msgpcode.FixExt1 && c <= msgpcode.FixExt16:
		return 2, 1 << (c - msgpcode.FixExt1), true, nil
	}
	var size int // bytes of the length field
	switch c {
	case msgpcode.Str8, msgpcode.Bin8, msgpcode.Ext8:
		size = 1
	case msgpcode.Str16, msgpcode.Bin16, msgpcode.Ext16:
		size = 2
	case msgpcode.Str32, msgpcode.Bin32, msgpcode.Ext32:
		size = 4
	default:
		return 0, 0, false, nil
	}
	if len(r.data)-p-1 < size {
		return 0, 0, false, errTruncated
	}
	for _, b := range r.data[p+1 : p+1+size] {
		n = n<<8 | int(b)
	}
	head = 1 + size
	if c == msgpcode.Ext8 || c == msgpcode.Ext16 || c == msgpcode.Ext32 {
		n++ // the extension's type byte
	}
	return head, n, true, nil
}

// takeBlob consumes a blob whose header blob has read, returning its data.
func (r *msgpackReader) takeBlob(head, n int) ([]byte, error) {
	p := r.pos() + head
	if n > len(r.data)-p {
		return nil, errTruncated
	}
	if _, err := r.src.Seek(int64(p+n), io.SeekStart); err != nil {
		return nil, wrapMsgpack(err)
	}
	return r.data[p : p+n], nil
}

func (r *msgpackReader) readString() ([]byte, error) {
	c, err := r.dec.PeekCode()
	if err != nil {
		return nil, errTruncated
	}
	if !msgpcode.IsString(c) {
		return nil, fmt.Errorf("malformed MessagePack: expected a string")
	}
	head, n, _, err := r.blob()
	if err != nil {
		return nil, err
	}
	s, err := r.takeBlob(head, n)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(s) {
		return nil, fmt.Errorf("malformed MessagePack: string is not valid UTF-8")
	}
	return s, nil
}

func (r *msgpackReader) readNumber() (number, error) {
	c, err := r.dec.PeekCode()
	if err != nil {
		return number{}, errTruncated
	}
	switch {
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := r.dec.DecodeFloat64()
		return number{isFloat: true, f: f}, wrapMsgpack(err)
	case c == msgpcode.Uint64 || c == msgpcode.Uint32 || c == msgpcode.Uint16 || c == msgpcode.Uint8:
		u, err := r.dec.DecodeUint64()
		return number{mag: u}, wrapMsgpack(err)
	case msgpackKind(c) == kindNumber:
		i, err := r.dec.DecodeInt64()
		if i < 0 {
			return number{neg: true, mag: uint64(-(i + 1)) + 1}, wrapMsgpack(err)
		}
		return number{mag: uint64(i)}, wrapMsgpack(err)
	}
	return number{}, fmt.Errorf("malformed MessagePack: expected a number")
}

// wrapMsgpack marks an error of the msgpack library as malformed input; an
// input that ends too soon gets errTruncated, as in the other formats.
func wrapMsgpack(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errTruncated
	}
	return fmt.Errorf("malformed MessagePack: %w", err)
}

func (r *msgpackReader) skip() error {
	k, err := r.peek()
	if err != nil {
		return err
	}
	if k == kindMap || k == kindList {
		return r.skipContainer(k)
	}
	head, n, ok, err := r.blob()
	if err != nil {
		return err
	}
	if ok {
		_, err = r.takeBlob(head, n)
		return err
	}
	return wrapMsgpack(r.dec.Skip())
}

// skipContainer skips a map or list. The containers it enters count
// towards MaxDepth with those open.
func (r *msgpackReader) skipContainer(k kind) error {
	if len(r.left)+r.depth >= MaxDepth {
		return errTooDeep
	}
	r.depth++
	defer func() { r.depth-- }()
	per := 1
	if k == kindMap {
		per = 2
	}
	n, err := r.containerLen(k)
	if err != nil {
		return err
	}
	if n > r.src.Len()/per {
		return fmt.Errorf("malformed MessagePack: length %d exceeds the data", n)
	}
	for range n * per {
		if err := r.skip(); err != nil {
			return err
		}
	}
	return nil
}

func (r *msgpackReader) finish() error {
	if r.src.Len() != 0 {
		return errTrailing
	}
	return nil
}
