package proto

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader is a tokenReader over a JSON document (RFC 8259). It never
// builds a tree: it walks the bytes, and copies a string only when it holds
// escapes.
type jsonReader struct {
	data  []byte
	pos   int
	first []bool // per open container: no item read yet
	buf   []byte // unescaped string
	stack [MaxDepth]bool
}

var _ tokenReader = (*jsonReader)(nil)

func newJSONReader(data []byte) *jsonReader {
	r := &jsonReader{}
	r.init(data)
	return r
}

func (r *jsonReader) init(data []byte) {
	r.data, r.pos, r.first = data, 0, r.stack[:0]
	if cap(r.buf) > maxKeptBuffer {
		r.buf = nil
	}
}

func (r *jsonReader) syntaxf(format string, args ...any) error {
	return fmt.Errorf("malformed JSON at offset %d: %s", r.pos, fmt.Sprintf(format, args...))
}

func (r *jsonReader) skipSpace() {
	for r.pos < len(r.data) && r.data[r.pos] <= ' ' { // no space is above ' '
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// jsonKinds is the kind of the item each byte starts, or 0 where no item
// starts.
var jsonKinds = func() (t [256]kind) {
	t['{'], t['['], t['"'], t['t'], t['f'], t['n'], t['-'] = kindMap, kindList, kindString, kindBool, kindBool, kindNull, kindNumber
	for c := '0'; c <= '9'; c++ {
		t[c] = kindNumber
	}
	return t
}()

func (r *jsonReader) peek() (kind, error) {
	r.skipSpace()
	if r.pos >= len(r.data) {
		return 0, errTruncated
	}
	if k := jsonKinds[r.data[r.pos]]; k != 0 {
		return k, nil
	}
	return 0, r.syntaxf("unexpected character %q", r.data[r.pos])
}

func (r *jsonReader) open(c byte) error {
	r.skipSpace()
	if r.pos >= len(r.data) {
		return errTruncated
	}
	if r.data[r.pos] != c {
		return r.syntaxf("expected %q", c)
	}
	if len(r.first) >= MaxDepth {
		return errTooDeep
	}
	r.pos++
	r.first = append(r.first, true)
	return nil
}

func (r *jsonReader) openMap() error  { return r.open('{') }
func (r *jsonReader) openList() error { return r.open('[') }

// more handles the separator before the next member of the open container:
// it returns false after consuming the container's closing byte.
func (r *jsonReader) more(closing byte) (bool, error) {
	r.skipSpace()
	if r.pos >= len(r.data) {
		return false, errTruncated
	}
	top := len(r.first) - 1
	if r.data[r.pos] == closing {
		r.pos++
		r.first = r.first[:top]
		return false, nil
	}
	if r.first[top] {
		r.first[top] = false
		return true, nil
	}
	if r.data[r.pos] != ',' {
		return false, r.syntaxf("expected ',' or %q", closing)
	}
	r.pos++
	r.skipSpace()
	return true, nil
}

func (r *jsonReader) nextKey() ([]byte, kind, bool, error) {
	key, ok, err := r.key()
	if !ok || err != nil {
		return nil, 0, ok, err
	}
	if r.pos < len(r.data) { // the value, when it follows the colon at once
		if k := jsonKinds[r.data[r.pos]]; k != 0 {
			return key, k, true, nil
		}
	}
	return key, r.ahead(), true, nil
}

func (r *jsonReader) nextItem() (kind, bool, error) {
	ok, err := r.more(']')
	if !ok || err != nil {
		return 0, ok, err
	}
	return r.ahead(), true, nil
}

// ahead returns the kind of the next item, or 0 when peek would fail.
func (r *jsonReader) ahead() kind {
	k, err := r.peek()
	if err != nil {
		return 0
	}
	return k
}

// key reads the next key of the open map and the colon after it, or
// consumes the map's end and returns false.
func (r *jsonReader) key() ([]byte, bool, error) {
	ok, err := r.more('}')
	if !ok || err != nil {
		return nil, false, err
	}
	if r.pos >= len(r.data) || r.data[r.pos] != '"' {
		return nil, false, r.syntaxf("expected a string key")
	}
	key, err := r.readString()
	if err != nil {
		return nil, false, err
	}
	r.skipSpace()
	if r.pos >= len(r.data) || r.data[r.pos] != ':' {
		return nil, false, r.syntaxf("expected ':' after key")
	}
	r.pos++
	return key, true, nil
}

// listLen is always -1: a JSON list does not state its length.
func (r *jsonReader) listLen(int) int { return -1 }

func (r *jsonReader) readString() ([]byte, error) {
	r.skipSpace()
	if r.pos >= len(r.data) || r.data[r.pos] != '"' {
		return nil, r.syntaxf("expected a string")
	}
	start := r.pos + 1
	high := false // a byte over 0x7f: then the string must be checked as UTF-8
	for i := start; i < len(r.data); i++ {
		c := r.data[i]
		if plainByte[c] {
			continue
		}
		switch {
		case c >= 0x80:
			high = true
		case c == '"':
			s := r.data[start:i]
			if high && !utf8.Valid(s) {
				return nil, r.syntaxf("string is not valid UTF-8")
			}
			r.pos = i + 1
			return s, nil
		case c == '\\':
			return r.readEscaped(start, i)
		default:
			r.pos = i
			return nil, r.syntaxf("control character in string")
		}
	}
	return nil, errTruncated
}

// plainByte tells the bytes that need no attention inside a string: ASCII,
// and neither a control character, a quote nor a backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// readEscaped finishes a string that holds escapes, from the first one at i.
func (r *jsonReader) readEscaped(start, i int) ([]byte, error) {
	r.buf = append(r.buf[:0], r.data[start:i]...)
	for i < len(r.data) {
		c := r.data[i]
		switch {
		case c == '"':
			if !utf8.Valid(r.buf) {
				return nil, r.syntaxf("string is not valid UTF-8")
			}
			r.pos = i + 1
			return r.buf, nil
		case c < 0x20:
			r.pos = i
			return nil, r.syntaxf("control character in string")
		case c != '\\':
			r.buf = append(r.buf, c)
			i++
			continue
		}
		n, err := r.unescape(i)
		if err != nil {
			return nil, err
		}
		i = n
	}
	return nil, errTruncated
}

// unescape appends the escape sequence at i to r.buf and returns the offset
// after it.
func (r *jsonReader) unescape(i int) (int, error) {
	if i+1 >= len(r.data) {
		return 0, errTruncated
	}
	switch e := r.data[i+1]; e {
	case '"', '\\', '/':
		r.buf = append(r.buf, e)
	case 'b':
		r.buf = append(r.buf, '\b')
	case 'f':
		r.buf = append(r.buf, '\f')
	case 'n':
		r.buf = append(r.buf, '\n')
	case 'r':
		r.buf = append(r.buf, '\r')
	case 't':
		r.buf = append(r.buf, '\t')
	case 'u':
		return r.unescapeUnicode(i)
	default:
		r.pos = i
		return 0, r.syntaxf("invalid escape \\%c", e)
	}
	return i + 2, nil
}

func (r *jsonReader) unescapeUnicode(i int) (int, error) {
	cp, ok := r.hex4(i + 2)
	if !ok {
		r.pos = i
		return 0, r.syntaxf("invalid \\u escape")
	}
	next := i + 6
	if utf16.IsSurrogate(cp) {
		lo, ok := rune(0), false
		if next+1 < len(r.data) && r.data[next] == '\\' && r.data[next+1] == 'u' {
			lo, ok = r.hex4(next + 2)
		}
		if dec := utf16.DecodeRune(cp, lo); ok && dec != utf8.RuneError {
			cp, next = dec, next+6
		} else {
			cp = utf8.RuneError
		}
	}
	r.buf = utf8.AppendRune(r.buf, cp)
	return next, nil
}

func (r *jsonReader) hex4(i int) (rune, bool) {
	if i+4 > len(r.data) {
		return 0, false
	}
	var v rune
	for _, c := range r.data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func (r *jsonReader) readNumber() (number, error) {
	r.skipSpace()
	if n, ok := r.plainInteger(); ok {
		return number{mag: n}, nil
	}
	start := r.pos
	end, isFloat, err := r.scanNumber(start)
	if err != nil {
		return number{}, err
	}
	r.pos = end
	text := r.data[start:end]
	if !isFloat {
		neg := text[0] == '-'
		digits := text
		if neg {
			digits = text[1:]
		}
		switch mag, ok := parseDigits(digits); {
		case ok && neg && mag == 0:
			return number{isFloat: true, f: math.Copysign(0, -1)}, nil // -0 keeps its sign, as in CBOR
		case ok:
			return number{neg: neg, mag: mag}, nil
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil && !isRangeErr(err) {
		return number{}, r.syntaxf("invalid number %q", text)
	}
	return number{isFloat: true, f: f}, nil
}

// plainInteger reads the common number, a non-negative integer of up to 19
// digits without a leading zero; ok is false for anything else, which
// readNumber then reads.
func (r *jsonReader) plainInteger() (uint64, bool) {
	d, start := r.data, r.pos
	i, v := start, uint64(0)
	for i < len(d) && i-start < 19 && d[i] >= '0' && d[i] <= '9' {
		v = v*10 + uint64(d[i]-'0')
		i++
	}
	if i == start || (d[start] == '0' && i-start > 1) {
		return 0, false
	}
	if i < len(d) {
		if c := d[i]; (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	r.pos = i
	return v, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseDigits reads an unsigned decimal integer, reporting false when it
// does not fit in 64 bits.
func parseDigits(b []byte) (uint64, bool) {
	if len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// scanNumber finds the end of the JSON number at i, checking its grammar.
func (r *jsonReader) scanNumber(i int) (end int, isFloat bool, err error) {
	d := r.data
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digitsEnd(d, i)
	default:
		r.pos = i
		return 0, false, r.syntaxf("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		isFloat = true
		if j := digitsEnd(d, i+1); j > i+1 {
			i = j
		} else {
			r.pos = i
			return 0, false, r.syntaxf("invalid number: no digits after '.'")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		isFloat = true
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digitsEnd(d, i)
		if j == i {
			r.pos = i
			return 0, false, r.syntaxf("invalid number: no digits in exponent")
		}
		i = j
	}
	return i, isFloat, nil
}

func digitsEnd(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

func (r *jsonReader) literal(word string) error {
	if len(r.data)-r.pos < len(word) || string(r.data[r.pos:r.pos+len(word)]) != word {
		return r.syntaxf("invalid literal")
	}
	r.pos += len(word)
	return nil
}

func (r *jsonReader) skip() error {
	k, err := r.peek()
	if err != nil {
		return err
	}
	switch k {
	case kindMap, kindList:
		return r.skipContainer()
	case kindString:
		_, err = r.readString()
	case kindNumber:
		_, err = r.readNumber()
	case kindNull:
		err = r.literal("null")
	case kindBool:
		if r.data[r.pos] == 't' {
			err = r.literal("true")
		} else {
			err = r.literal("false")
		}
	}
	return err
}

// skipContainer skips a map or list with a loop rather than recursion, so
// deep nesting costs no stack; the depth limit still applies.
func (r *jsonReader) skipContainer() error {
	var isMap []bool
	for {
		k, err := r.peek()
		if err != nil {
			return err
		}
		if k == kindMap || k == kindList {
			if err := r.open(r.data[r.pos]); err != nil {
				return err
			}
			isMap = append(isMap, k == kindMap)
		} else if err := r.skip(); err != nil {
			return err
		}
		for {
			if len(isMap) == 0 {
				return nil
			}
			var more bool
			if isMap[len(isMap)-1] {
				_, more, err = r.key()
			} else {
				more, err = r.more(']')
			}
			if err != nil {
				return err
			}
			if more {
				break
			}
			isMap = isMap[:len(isMap)-1]
		}
	}
}

func (r *jsonReader) finish() error {
	r.skipSpace()
	if r.pos != len(r.data) {
		return errTrailing
	}
	return nil
}
