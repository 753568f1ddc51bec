package history

import (
	"encoding/binary"
	"math"
	"net/netip"

	"github.com/vigil-iot/vigil/detector"
)

// blockVersion is the first byte of every stored block.
const blockVersion = 1

// The encodings of a run's values, in the high nibble of the run's header
// byte; the low nibble is the detector.ValueKind.
const (
	// encInt: integral numbers, each as the zigzag varint of its difference
	// with the previous value of the run (the first with 0).
	encInt = 0
	// encFloat: numbers as the float64 bits XOR the previous value's bits:
	// 0x00 when equal, else a byte (trailing zero bytes << 4 | significant
	// bytes) and the significant bytes, little-endian.
	encFloat = 1
	// encSet: sets, each as 0 when equal to the previous point's set, else
	// the element count + 1 and the elements.
	encSet = 2
)

// maxExactInt is the largest integer every smaller integer of which a
// float64 holds exactly; integral values beyond it are stored as floats.
const maxExactInt = 1 << 53

// The tags of an IP address in a set.
const (
	ipInvalid = 0  // the zero netip.Addr
	ipV4      = 4  // 4 bytes
	ipV6      = 16 // 16 bytes
	ipV6Zone  = 17 // 16 bytes, then the zone's length and bytes
)

// run encodes points of one value kind and encoding, in the order they are
// added: a header byte, the point count, then for each point its time and
// value. The first time is the offset in milliseconds from the block's
// start; the next ones are the zigzag varint of the difference between
// consecutive time deltas (delta-of-delta), so that regular reports cost
// one byte.
type run struct {
	head     byte
	count    int
	prevT    int64  // offset of the last point
	prevD    int64  // last time delta
	prevInt  int64  // last value (encInt)
	prevBits uint64 // last value's bits (encFloat)
	setOff   int    // where the last set written in full starts in body
	setLen   int    // its length; 0 when there is none
	body     []byte // times and values
}

// headFor chooses the header of the run a value goes into: a float run
// takes integral values too, so a number metric switches encoding at most
// once per block.
func headFor(v detector.Value, cur byte, curCount int) (byte, bool) {
	kind := byte(v.Kind)
	switch v.Kind {
	case detector.KindCount, detector.KindNumber:
		if curCount > 0 && cur == kind|encFloat<<4 {
			return cur, true
		}
		if integral(v.Number) {
			return kind | encInt<<4, true
		}
		return kind | encFloat<<4, true
	case detector.KindPorts, detector.KindIPs, detector.KindNumbers, detector.KindStrings:
		return kind | encSet<<4, true
	}
	return 0, false
}

// integral reports whether f is an integer that encInt keeps exactly
// (negative zero is not: it would come back as zero).
func integral(f float64) bool {
	return f == math.Trunc(f) && math.Abs(f) <= maxExactInt && !(f == 0 && math.Signbit(f))
}

// add appends a point at offset t (milliseconds from the block's start).
func (r *run) add(head byte, t int64, v detector.Value) {
	if r.count == 0 {
		r.head = head
		r.body = binary.AppendUvarint(r.body, uint64(t))
	} else {
		d := t - r.prevT
		r.body = binary.AppendVarint(r.body, d-r.prevD)
		r.prevD = d
	}
	r.prevT = t
	r.count++
	switch head >> 4 {
	case encInt:
		n := int64(v.Number)
		r.body = binary.AppendVarint(r.body, n-r.prevInt)
		r.prevInt = n
	case encFloat:
		bits := math.Float64bits(v.Number)
		r.body = appendXOR(r.body, bits^r.prevBits)
		r.prevBits = bits
	default:
		r.addSet(v)
	}
}

// appendXOR writes the XOR of two float64 values without its leading and
// trailing zero bytes.
func appendXOR(b []byte, x uint64) []byte {
	if x == 0 {
		return append(b, 0)
	}
	trail := 0
	for x&0xff == 0 {
		x >>= 8
		trail++
	}
	n := 1
	for x>>(8*n) != 0 {
		n++
	}
	b = append(b, byte(trail<<4|n))
	for range n {
		b = append(b, byte(x))
		x >>= 8
	}
	return b
}

// addSet writes a set, or 0 when it is the same as the previous set.
func (r *run) addSet(v detector.Value) {
	pos := len(r.body)
	r.body = appendSet(r.body, v)
	enc := r.body[pos:]
	if r.setLen == len(enc) && string(r.body[r.setOff:r.setOff+r.setLen]) == string(enc) {
		r.body = append(r.body[:pos], 0)
		return
	}
	r.setOff, r.setLen = pos, len(enc)
}

// appendSet writes a set's element count + 1 and its elements.
func appendSet(b []byte, v detector.Value) []byte {
	switch v.Kind {
	case detector.KindPorts:
		b = binary.AppendUvarint(b, uint64(len(v.Ports))+1)
		prev := int64(0)
		for _, p := range v.Ports {
			b = binary.AppendVarint(b, int64(p)-prev)
			prev = int64(p)
		}
	case detector.KindIPs:
		b = binary.AppendUvarint(b, uint64(len(v.IPs))+1)
		for _, ip := range v.IPs {
			b = appendIP(b, ip)
		}
	case detector.KindNumbers:
		b = binary.AppendUvarint(b, uint64(len(v.Numbers))+1)
		for _, n := range v.Numbers {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(n))
		}
	case detector.KindStrings:
		b = binary.AppendUvarint(b, uint64(len(v.Strings))+1)
		for _, s := range v.Strings {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

func appendIP(b []byte, ip netip.Addr) []byte {
	switch {
	case ip.Is4():
		a := ip.As4()
		return append(append(b, ipV4), a[:]...)
	case ip.Is6() && ip.Zone() == "":
		a := ip.As16()
		return append(append(b, ipV6), a[:]...)
	case ip.Is6():
		a := ip.As16()
		b = append(append(b, ipV6Zone), a[:]...)
		b = binary.AppendUvarint(b, uint64(len(ip.Zone())))
		return append(b, ip.Zone()...)
	}
	return append(b, ipInvalid)
}

// appendTo writes the run: header, count, body.
func (r *run) appendTo(b []byte) []byte {
	if r.count == 0 {
		return b
	}
	b = append(b, r.head)
	b = binary.AppendUvarint(b, uint64(r.count))
	return append(b, r.body...)
}

// reset empties the run, keeping its buffer.
func (r *run) reset() {
	*r = run{body: r.body[:0]}
}

// block holds the points of one series in one block span, in memory: the
// runs already finished and the run being written.
type block struct {
	start    int64  // the block's start, in Unix milliseconds
	runs     []byte // finished runs; led by the stored block's runs once merged
	cur      run
	complete bool   // the block holds everything the store has for its key
	gen      uint64 // points added so far
	flushed  uint64 // gen when last written
}

// add appends a point of a known kind.
func (b *block) add(t int64, v detector.Value) {
	head, _ := headFor(v, b.cur.head, b.cur.count)
	if b.cur.count > 0 && b.cur.head != head {
		b.runs = b.cur.appendTo(b.runs)
		b.cur.reset()
	}
	b.cur.add(head, t-b.start, v)
	b.gen++
}

// dirty reports whether the block has points not yet written.
func (b *block) dirty() bool { return b.gen != b.flushed }

// appendRuns writes the block's runs, without the version byte.
func (b *block) appendRuns(dst []byte) []byte {
	return b.cur.appendTo(append(dst, b.runs...))
}
