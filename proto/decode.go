package proto

import (
	"errors"
	"math"
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
	return o.decode(newReportBlock(format), format, data)
}

// ReportBuffer is reusable room for reading reports into: DecodeInto fills
// it in place of allocating a report. Its lists (ports, connections) are
// read into the buffer too while they are short. A report decoded into a
// buffer is the buffer's: it, its lists and its custom metrics' values stay
// valid until the buffer is used again, and a caller that reuses buffers
// (from a sync.Pool, say) copies what it keeps before then. The zero value
// is ready to use.
type ReportBuffer struct {
	block reportBlock
	room  listRoom
}

// DecodeInto is Decode into buf, which it clears first. The report it
// returns is buf's (see ReportBuffer).
func (o DecodeOptions) DecodeInto(buf *ReportBuffer, format Format, data []byte) (*Report, error) {
	buf.room = listRoom{}
	buf.block = reportBlock{room: &buf.room}
	return o.decode(&buf.block, format, data)
}

// decode reads a report into blk.
func (o DecodeOptions) decode(blk *reportBlock, format Format, data []byte) (*Report, error) {
	limit := o.MaxSize
	if limit <= 0 {
		limit = DefaultMaxReportSize
	}
	rep := &blk.report
	if len(data) > limit {
		return rep, errorf(ReportTooLarge, "report", "%d bytes is over the limit of %d bytes", len(data), limit)
	}
	d := getDecoder(format, data)
	if d == nil {
		return rep, errorf(InvalidPayload, "report", "unknown format %v", format)
	}
	defer putDecoder(d)
	d.rep, d.blk = rep, blk
	if err := d.document(); err != nil {
		return rep, err
	}
	return rep, nil
}

// reportBlock holds the fixed parts of a decoded report, so that they take
// one allocation. Each part is filled at most once, since a key given twice
// is refused.
type reportBlock struct {
	report   Report
	metrics  Metrics
	tcp, udp PortList
	stats    NetworkStats
	tcpConns TCPConnections
	estab    EstablishedConnections
	counts   [7]uint64       // tcp and udp totals, network stats, connections total
	custom   [1]CustomMetric // the custom metric of a report that has one
	room     *listRoom       // for lists of unknown length, or nil
}

// listRoom holds the lists of most reports, for an encoding that does not
// declare the length of a list (JSON): they are read into it, and a longer
// one gets a slice of its own. Where the encoding declares the length
// (CBOR, MessagePack), each list is allocated at its length instead, which
// takes a typical report from 1,296 bytes to 848 in three more
// allocations: a busy decoder's share of garbage collection grows with the
// bytes it allocates more than with their count.
type listRoom struct {
	tcpPorts, udpPorts [blockItems]Port
	conns              [blockItems]Connection
}

// blockItems is how many ports or connections a list may hold in a
// listRoom. It is also the room made for a JSON list that does not fit.
const blockItems = 8

// newReportBlock allocates the fixed parts of a report, with room for its
// lists in the same allocation when the format does not declare their
// lengths.
func newReportBlock(format Format) *reportBlock {
	if format != JSON {
		return new(reportBlock)
	}
	b := new(struct {
		block reportBlock
		room  listRoom
	})
	b.block.room = &b.room
	return &b.block
}

// decoder walks the report schema over a tokenReader.
type decoder struct {
	r      tokenReader
	cbor   *cborReader // r, when it is a CBOR reader, for the key fast path
	owner  any         // what holds the decoder and its reader, for the pool
	rep    *Report
	blk    *reportBlock // nil when decoding a part of a report on its own
	next   kind         // the kind of the next item, when the reader told it; else 0
	short  bool         // the map read last used short keys
	key    []byte       // copy of the unknown key being skipped, or of a refused metric name
	iface  string       // the interface name read last, shared when repeated
	metric string       // the name of the custom metric being read

	steps  [maxSteps]pathSeg // the path to the field being read
	nsteps int
}

// block returns the fixed parts of the report being decoded.
func (d *decoder) block() *reportBlock {
	if d.blk == nil {
		d.blk = new(reportBlock)
	}
	return d.blk
}

// inShort reports whether the innermost key on the path is spelled short.
func (d *decoder) inShort() bool {
	return d.nsteps > 0 && d.steps[d.nsteps-1].short
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

// peek returns the kind of the next item. The reader tells it along with
// each key and list item, which saves asking.
func (d *decoder) peek() (kind, error) {
	if d.next != 0 {
		return d.next, nil
	}
	return d.r.peek()
}

// expect checks the kind of the next item.
func (d *decoder) expect(want kind) error {
	if d.next == want {
		return nil
	}
	return d.expectAsking(want)
}

// expectAsking is expect when the reader has not told the next kind.
func (d *decoder) expectAsking(want kind) error {
	k, err := d.peek()
	if err != nil {
		return d.malformed(err)
	}
	if k != want {
		return d.invalid("must be %s, got %s", want, k)
	}
	return nil
}

// field is a key of the document in its long and short spelling.
type field struct {
	long, short string
	id          keyID
}

// mapState is what fields has seen of a map so far, as bit masks over its
// table of keys.
type mapState struct {
	given   uint32 // keys given, null or not
	present uint32 // keys given a value other than null
	asShort uint32 // keys spelled short
	short   bool   // the map's key style: that of its first known key
	styled  bool   // short is set from a key of this map
}

// fields reads a map whose known keys are listed in table t, calling fn with
// the index of each known key present. Unknown keys are skipped, a null
// value counts as absent, and a key given twice (in either spelling) is
// refused. It returns the set of keys present, as a bit mask, and leaves
// the map's key style in d.short.
func (d *decoder) fields(t tableID, fn func(i int) error) (uint32, error) {
	if err := d.expect(kindMap); err != nil {
		return 0, err
	}
	d.next = 0
	var err error
	if d.cbor != nil {
		err = d.cbor.openMap()
	} else {
		err = d.r.openMap()
	}
	if err != nil {
		return 0, d.malformed(err)
	}
	m := mapState{short: d.inShort()}
	table := tables[t]
	for {
		var (
			key       []byte
			id        keyID // a known key, if table[keyIndex[id]] is it
			short, ok bool
			next      kind
			err       error
		)
		if d.cbor != nil {
			key, id, short, next, ok, err = d.cbor.nextField()
		} else if key, next, ok, err = d.r.nextKey(); ok {
			id, short = keyOf(key)
		}
		d.next = next
		if err != nil {
			return m.present, d.malformed(err)
		}
		if !ok {
			d.short = m.short
			return m.present, nil
		}
		i := int(keyIndex[id])
		if i >= len(table) || table[i].id != id {
			if err := d.skipUnknown(key); err != nil {
				return m.present, err
			}
			continue
		}
		if !m.styled {
			m.short, m.styled = short, true
		}
		f := &table[i]
		d.push(pathSeg{index: int32(i), table: t, short: short})
		bit := uint32(1) << i
		switch {
		case m.given&bit != 0:
			err = d.twice(f, short, m.asShort&bit != 0)
		case d.next == kindNull:
			m.given |= bit
			err = d.skip()
		case d.next == 0:
			err = d.member(i, &m, fn)
		default:
			m.given |= bit
			m.present |= bit
			err = fn(i)
		}
		if short {
			m.asShort |= bit
		}
		d.pop()
		if err != nil {
			return m.present, err
		}
	}
}

// twice refuses a key the map had already, in the same spelling or the
// other.
func (d *decoder) twice(f *field, short, wasShort bool) error {
	if f.long == f.short || wasShort == short {
		return d.invalid("given twice")
	}
	return d.invalid("given twice, as %s and as %s", f.long, f.short)
}

// member reads the value of known key i when the reader could not tell its
// kind ahead: peek tells whether it is null, or why it cannot be read.
func (d *decoder) member(i int, m *mapState, fn func(int) error) error {
	bit := uint32(1) << i
	m.given |= bit
	k, err := d.r.peek()
	switch {
	case err != nil:
		return d.malformed(err)
	case k == kindNull:
		return d.skip()
	}
	m.present |= bit
	return fn(i)
}

// require checks that every key of table t in mask is present, and names
// the first one missing in the key style of the map read last.
func (d *decoder) require(t tableID, present, mask uint32) error {
	if present&mask == mask {
		return nil
	}
	return d.missing(t, present, mask)
}

func (d *decoder) missing(t tableID, present, mask uint32) error {
	for i := range tables[t] {
		if bit := uint32(1) << i; mask&bit != 0 && present&bit == 0 {
			return d.invalidAt(pathSeg{index: int32(i), table: t, short: d.short}, "is required")
		}
	}
	return nil
}

// skipUnknown skips the value of an unknown key; an error in it names the
// key.
func (d *decoder) skipUnknown(key []byte) error {
	d.next = 0
	d.key = append(d.key[:0], key...)
	if err := d.r.skip(); err != nil {
		d.push(pathSeg{table: stepKey})
		perr := d.malformed(err)
		d.pop()
		return perr
	}
	return nil
}

func (d *decoder) skip() error {
	d.next = 0
	if err := d.r.skip(); err != nil {
		return d.malformed(err)
	}
	return nil
}

// openList opens a list and returns how many items to make room for: the
// count the encoding declares, capped at what the bytes left can hold at
// minItemBytes each; declared is false when the encoding does not say.
func (d *decoder) openList(minItemBytes int) (n int, declared bool, err error) {
	if err := d.expect(kindList); err != nil {
		return 0, false, err
	}
	d.next = 0
	if d.cbor != nil {
		err = d.cbor.openList()
	} else {
		err = d.r.openList()
	}
	if err != nil {
		return 0, false, d.malformed(err)
	}
	n = d.r.listLen(minItemBytes)
	return max(n, 0), n >= 0, nil
}

// items calls fn for each item of the list just opened, with the item's
// index on the path.
func (d *decoder) items(fn func(i int) error) error {
	short := d.inShort()
	for i := int32(0); ; i++ {
		var (
			next kind
			ok   bool
			err  error
		)
		if d.cbor != nil {
			next, ok, err = d.cbor.nextItem()
		} else {
			next, ok, err = d.r.nextItem()
		}
		d.next = next
		if err != nil {
			return d.malformed(err)
		}
		if !ok {
			return nil
		}
		d.push(pathSeg{index: i, table: stepIndex, short: short})
		err = fn(int(i))
		d.pop()
		if err != nil {
			return err
		}
	}
}

// list reads a list whose length is of no use up front.
func (d *decoder) list(fn func(i int) error) error {
	if err := d.expect(kindList); err != nil {
		return err
	}
	d.next = 0
	if err := d.r.openList(); err != nil {
		return d.malformed(err)
	}
	return d.items(fn)
}

func (d *decoder) number() (number, error) {
	if d.next != kindNumber {
		if err := d.expectAsking(kindNumber); err != nil {
			return number{}, err
		}
	}
	d.next = 0
	n, err := d.r.readNumber()
	if err != nil {
		return number{}, d.malformed(err)
	}
	return n, nil
}

// unsigned reads a non-negative integer no larger than max. A float is
// accepted when it holds an exact integer.
func (d *decoder) unsigned(max uint64, what string) (uint64, error) {
	if d.next != kindNumber {
		if err := d.expectAsking(kindNumber); err != nil {
			return 0, err
		}
	}
	d.next = 0
	var (
		n   number
		err error
	)
	if d.cbor != nil {
		n, err = d.cbor.readNumber()
	} else {
		n, err = d.r.readNumber()
	}
	if err != nil {
		return 0, d.malformed(err)
	}
	if !n.isFloat && !n.neg && n.mag <= max {
		return n.mag, nil
	}
	return d.unsignedFloat(n, max, what)
}

// unsignedFloat is unsigned for a float or an out-of-range integer.
func (d *decoder) unsignedFloat(n number, max uint64, what string) (uint64, error) {
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

// count reads a non-negative integer into slot, and returns slot.
func (d *decoder) count(slot *uint64) (*uint64, error) {
	v, err := d.unsigned(math.MaxUint64, "a non-negative integer")
	if err != nil {
		return nil, err
	}
	*slot = v
	return slot, nil
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

// text reads a text string; the bytes are valid until the next read.
func (d *decoder) text() ([]byte, error) {
	if err := d.expect(kindString); err != nil {
		return nil, err
	}
	d.next = 0
	var (
		b   []byte
		err error
	)
	if d.cbor != nil {
		b, err = d.cbor.readString()
	} else {
		b, err = d.r.readString()
	}
	if err != nil {
		return nil, d.malformed(err)
	}
	return b, nil
}

// str reads a text string.
func (d *decoder) str() (string, error) {
	b, err := d.text()
	return string(b), err
}

// interfaceName reads an interface name: a short string without control
// characters. A name equal to the one read last is shared, not copied.
func (d *decoder) interfaceName() (string, error) {
	b, err := d.text()
	if err != nil {
		return "", err
	}
	if name, ok := commonInterface(b); ok {
		return name, nil
	}
	if len(b) > maxInterfaceName || hasControl(b) {
		return "", d.invalid("must be an interface name of at most %d bytes without control characters", maxInterfaceName)
	}
	if string(b) != d.iface {
		d.iface = string(b)
	}
	return d.iface, nil
}

// commonInterface returns a common interface name without copying it.
func commonInterface(b []byte) (string, bool) {
	switch string(b) {
	case "eth0":
		return "eth0", true
	case "eth1":
		return "eth1", true
	case "lo":
		return "lo", true
	case "wlan0":
		return "wlan0", true
	case "en0":
		return "en0", true
	case "eno1":
		return "eno1", true
	case "ens3":
		return "ens3", true
	case "ens5":
		return "ens5", true
	case "enp0s3":
		return "enp0s3", true
	case "wwan0":
		return "wwan0", true
	case "usb0":
		return "usb0", true
	case "br0":
		return "br0", true
	case "docker0":
		return "docker0", true
	}
	return "", false
}

const maxInterfaceName = 64

// hasControl reports whether valid UTF-8 text holds a C0 or C1 control
// character or DEL.
func hasControl[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			return true
		case c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] < 0xa0: // U+0080..U+009F
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
	d.next = 0
	if err := d.r.finish(); err != nil {
		return d.malformed(err)
	}
	return nil
}
