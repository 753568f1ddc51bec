package proto

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// DecodeOptions are the limits of a decode. The zero value uses the defaults.
type DecodeOptions struct {
	// MaxSize is the largest document accepted, in bytes; 0 means
	// DefaultMaxReportSize.
	MaxSize int
}

// Decode reads a report in the given format with the default limits. See
// DecodeOptions.Decode.
func Decode(format Format, data []byte) (*Report, error) {
	return DecodeOptions{}.Decode(format, data)
}

// Decode reads and validates a report. On failure the error is an *Error,
// and the report returned holds what was read before the problem (at least
// its header's report id when that came first), so that a rejection can
// still echo the report id.
func (o DecodeOptions) Decode(format Format, data []byte) (*Report, error) {
	limit := o.MaxSize
	if limit <= 0 {
		limit = DefaultMaxReportSize
	}
	rep := &Report{}
	if len(data) > limit {
		return rep, errorf(ReportTooLarge, "report", "%d bytes is over the limit of %d bytes", len(data), limit)
	}
	var r tokenReader
	switch format {
	case JSON:
		r = newJSONReader(data)
	case CBOR:
		r = newCBORReader(data)
	case MsgPack:
		r = newMsgpackReader(data)
	default:
		return rep, errorf(InvalidPayload, "report", "unknown format %v", format)
	}
	d := decoder{r: r, rep: rep, path: make([]pathSeg, 0, 8)}
	if err := d.document(); err != nil {
		return rep, err
	}
	return rep, nil
}

// pathSeg is one step of the path to the field being read: a key, or a list
// index when key is "".
type pathSeg struct {
	key   string
	index int
}

// decoder walks the report schema over a tokenReader.
type decoder struct {
	r    tokenReader
	rep  *Report
	path []pathSeg
}

func (d *decoder) where() string {
	if len(d.path) == 0 {
		return "report"
	}
	var b strings.Builder
	for i, s := range d.path {
		switch {
		case s.key == "":
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case i > 0:
			b.WriteByte('.')
			fallthrough
		default:
			b.WriteString(s.key)
		}
	}
	return b.String()
}

func (d *decoder) invalid(format string, args ...any) *Error {
	return errorf(InvalidPayload, d.where(), format, args...)
}

// malformed turns a reader error into an InvalidPayload at the current path.
func (d *decoder) malformed(err error) *Error {
	switch {
	case errors.Is(err, errTruncated):
		return d.invalid("the document ends too soon")
	case errors.Is(err, errTooDeep):
		return d.invalid("nested deeper than %d levels", MaxDepth)
	}
	return d.invalid("%v", err)
}

// expect checks the kind of the next item.
func (d *decoder) expect(want kind) error {
	k, err := d.r.peek()
	if err != nil {
		return d.malformed(err)
	}
	if k != want {
		return d.invalid("must be %s, got %s", want, k)
	}
	return nil
}

// field is a key of the document in its long and short spelling.
type field struct{ long, short string }

// fields reads a map whose known keys are listed in table, calling fn with
// the index of each known key present. Unknown keys are skipped, a null
// value counts as absent, and a key given twice (in either spelling) is
// refused. It returns the set of keys seen, as a bit mask.
func (d *decoder) fields(table []field, fn func(i int) error) (uint32, error) {
	if err := d.expect(kindMap); err != nil {
		return 0, err
	}
	if err := d.r.openMap(); err != nil {
		return 0, d.malformed(err)
	}
	var seen uint32
	for {
		key, ok, err := d.r.nextKey()
		if err != nil {
			return seen, d.malformed(err)
		}
		if !ok {
			return seen, nil
		}
		i, name := lookup(table, key)
		if i < 0 {
			if err := d.r.skip(); err != nil {
				return seen, d.malformed(err)
			}
			continue
		}
		if err := d.member(i, name, &seen, table, fn); err != nil {
			return seen, err
		}
	}
}

func lookup(table []field, key []byte) (int, string) {
	for i, f := range table {
		switch string(key) {
		case f.long:
			return i, f.long
		case f.short:
			return i, f.short
		}
	}
	return -1, ""
}

// member reads the value of known key i of a map.
func (d *decoder) member(i int, name string, seen *uint32, table []field, fn func(int) error) error {
	d.path = append(d.path, pathSeg{key: name})
	defer func() { d.path = d.path[:len(d.path)-1] }()
	if k, err := d.r.peek(); err != nil {
		return d.malformed(err)
	} else if k == kindNull {
		return d.skip()
	}
	if *seen&(1<<i) != 0 {
		if table[i].long == table[i].short {
			return d.invalid("given twice")
		}
		return d.invalid("given twice (%s and %s are the same key)", table[i].long, table[i].short)
	}
	*seen |= 1 << i
	return fn(i)
}

func (d *decoder) skip() error {
	if err := d.r.skip(); err != nil {
		return d.malformed(err)
	}
	return nil
}

// list reads a list, calling fn for each item with the index on the path.
func (d *decoder) list(fn func(i int) error) error {
	if err := d.expect(kindList); err != nil {
		return err
	}
	if err := d.r.openList(); err != nil {
		return d.malformed(err)
	}
	for i := 0; ; i++ {
		ok, err := d.r.nextItem()
		if err != nil {
			return d.malformed(err)
		}
		if !ok {
			return nil
		}
		d.path = append(d.path, pathSeg{index: i})
		err = fn(i)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return err
		}
	}
}

func (d *decoder) number() (number, error) {
	if err := d.expect(kindNumber); err != nil {
		return number{}, err
	}
	n, err := d.r.readNumber()
	if err != nil {
		return number{}, d.malformed(err)
	}
	return n, nil
}

// unsigned reads a non-negative integer no larger than max. A float is
// accepted when it holds an exact integer.
func (d *decoder) unsigned(max uint64, what string) (uint64, error) {
	n, err := d.number()
	if err != nil {
		return 0, err
	}
	if n.isFloat {
		if n.f != math.Trunc(n.f) || n.f < 0 || n.f >= math.Exp2(64) {
			return 0, d.invalid("must be %s, got %v", what, n)
		}
		n = number{mag: uint64(n.f)}
	}
	if n.neg || n.mag > max {
		return 0, d.invalid("must be %s, got %v", what, n)
	}
	return n.mag, nil
}

func (d *decoder) count() (*uint64, error) {
	v, err := d.unsigned(math.MaxUint64, "a non-negative integer")
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// finite reads any finite number as a float64.
func (d *decoder) finite() (float64, error) {
	n, err := d.number()
	if err != nil {
		return 0, err
	}
	switch {
	case n.isFloat && (math.IsNaN(n.f) || math.IsInf(n.f, 0)):
		return 0, d.invalid("must be a finite number, got %v", n)
	case n.isFloat:
		return n.f, nil
	case n.neg:
		return -float64(n.mag), nil
	}
	return float64(n.mag), nil
}

// str reads a text string.
func (d *decoder) str() (string, error) {
	if err := d.expect(kindString); err != nil {
		return "", err
	}
	b, err := d.r.readString()
	if err != nil {
		return "", d.malformed(err)
	}
	return string(b), nil
}

// interfaceName reads an interface name: a short string without control
// characters.
func (d *decoder) interfaceName() (string, error) {
	s, err := d.str()
	if err != nil {
		return "", err
	}
	if len(s) > maxInterfaceName || hasControl(s) {
		return "", d.invalid("must be an interface name of at most %d bytes without control characters", maxInterfaceName)
	}
	return s, nil
}

const maxInterfaceName = 64

func hasControl(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return true
		}
	}
	return false
}

// document reads the whole report and checks that nothing follows it.
func (d *decoder) document() error {
	if err := d.root(); err != nil {
		return err
	}
	if err := d.r.finish(); err != nil {
		return d.malformed(err)
	}
	return nil
}
