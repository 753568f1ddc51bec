package proto

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// msgpackReader is a tokenReader over a MessagePack document, built on the
// streaming API of github.com/vmihailenco/msgpack/v5. It skips containers
// itself, with the depth limit, and checks every length against the bytes
// left before reading on.
type msgpackReader struct {
	src   *bytes.Reader
	dec   *msgpack.Decoder
	left  []int // per open container: items left
	depth int
}

var _ tokenReader = (*msgpackReader)(nil)

func newMsgpackReader(data []byte) *msgpackReader {
	src := bytes.NewReader(data)
	return &msgpackReader{src: src, dec: msgpack.NewDecoder(src), left: make([]int, 0, 8)}
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
	if len(r.left) >= MaxDepth {
		return errTooDeep
	}
	var n int
	var err error
	if want == kindMap {
		n, err = r.dec.DecodeMapLen()
	} else {
		n, err = r.dec.DecodeArrayLen()
	}
	if err != nil {
		return fmt.Errorf("malformed MessagePack: %w", err)
	}
	if n < 0 || n > r.src.Len()/perItem {
		return fmt.Errorf("malformed MessagePack: length %d exceeds the data", n)
	}
	r.left = append(r.left, n)
	return nil
}

func (r *msgpackReader) openMap() error  { return r.open(kindMap, 2) }
func (r *msgpackReader) openList() error { return r.open(kindList, 1) }

func (r *msgpackReader) more() bool {
	top := len(r.left) - 1
	if r.left[top] == 0 {
		r.left = r.left[:top]
		return false
	}
	r.left[top]--
	return true
}

func (r *msgpackReader) nextKey() ([]byte, bool, error) {
	if !r.more() {
		return nil, false, nil
	}
	if k, err := r.peek(); err != nil {
		return nil, false, err
	} else if k != kindString {
		return nil, false, fmt.Errorf("malformed MessagePack: map key is %s, not a string", k)
	}
	key, err := r.readString()
	return key, err == nil, err
}

func (r *msgpackReader) nextItem() (bool, error) { return r.more(), nil }

func (r *msgpackReader) readString() ([]byte, error) {
	c, err := r.dec.PeekCode()
	if err != nil {
		return nil, errTruncated
	}
	if !msgpcode.IsString(c) {
		return nil, fmt.Errorf("malformed MessagePack: expected a string")
	}
	s, err := r.dec.DecodeBytes()
	if err != nil {
		return nil, fmt.Errorf("malformed MessagePack: %w", err)
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

func wrapMsgpack(err error) error {
	if err != nil {
		return fmt.Errorf("malformed MessagePack: %w", err)
	}
	return nil
}

func (r *msgpackReader) skip() error {
	k, err := r.peek()
	if err != nil {
		return err
	}
	if k != kindMap && k != kindList {
		return wrapMsgpack(r.dec.Skip())
	}
	if r.depth >= MaxDepth {
		return errTooDeep
	}
	r.depth++
	defer func() { r.depth-- }()
	per := 1
	if k == kindMap {
		per = 2
	}
	if err := r.open(k, per); err != nil {
		return err
	}
	n := r.left[len(r.left)-1] * per
	r.left = r.left[:len(r.left)-1]
	for range n {
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
