package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-iot/vigil/detector"
)

// ErrCorrupt is returned when a stored block cannot be decoded.
var ErrCorrupt = errors.New("corrupt history block")

// decodeBlock appends the points of a stored block that starts at start
// (Unix milliseconds) to out, in the order they were added.
func decodeBlock(start int64, data []byte, out []Point) ([]Point, error) {
	if len(data) == 0 || data[0] != blockVersion {
		return out, fmt.Errorf("%w: unknown version", ErrCorrupt)
	}
	return decodeRuns(start, data[1:], out)
}

// decodeRuns appends the points of a sequence of runs to out.
func decodeRuns(start int64, data []byte, out []Point) ([]Point, error) {
	d := decoder{b: data, start: start}
	for len(d.b) > 0 {
		var err error
		if out, err = d.run(out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// decoder reads runs; every read checks its bounds, so that corrupt bytes
// give an error, never a panic or a huge allocation.
type decoder struct {
	b     []byte
	start int64
}

func corrupt(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }

func (d *decoder) uvarint(what string) (uint64, error) {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		return 0, corrupt(what)
	}
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) varint(what string) (int64, error) {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		return 0, corrupt(what)
	}
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) bytes(n int, what string) ([]byte, error) {
	if n < 0 || n > len(d.b) {
		return nil, corrupt(what)
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b, nil
}

// count reads a count of items that take at least one byte each.
func (d *decoder) count(what string) (int, error) {
	n, err := d.uvarint(what)
	if err != nil || n > uint64(len(d.b)) {
		return 0, corrupt(what)
	}
	return int(n), nil
}

// runState is what a run's points are decoded against.
type runState struct {
	kind     detector.ValueKind
	enc      byte
	t, delta int64
	prevInt  int64
	prevBits uint64
	prevSet  *detector.Value
}

// validHead reports whether a header names a known kind and an encoding
// that suits it.
func validHead(head byte) bool {
	kind, enc := detector.ValueKind(head&0x0f), head>>4
	switch kind {
	case detector.KindCount, detector.KindNumber:
		return enc == encInt || enc == encFloat
	case detector.KindPorts, detector.KindIPs, detector.KindNumbers, detector.KindStrings:
		return enc == encSet
	}
	return false
}

func (d *decoder) run(out []Point) ([]Point, error) {
	head, err := d.bytes(1, "run header")
	if err != nil {
		return out, err
	}
	if !validHead(head[0]) {
		return out, corrupt("run header")
	}
	n, err := d.count("point count")
	if err != nil || n == 0 {
		return out, corrupt("point count")
	}
	st := runState{kind: detector.ValueKind(head[0] & 0x0f), enc: head[0] >> 4}
	out = slices.Grow(out, n)
	for i := range n {
		if err := d.time(&st, i == 0); err != nil {
			return out, err
		}
		v, err := d.value(&st)
		if err != nil {
			return out, err
		}
		out = append(out, Point{Time: time.UnixMilli(d.start + st.t).UTC(), Value: v})
	}
	return out, nil
}

// time reads a point's offset: the first as is, the next as the change of
// the delta.
func (d *decoder) time(st *runState, first bool) error {
	if first {
		t, err := d.uvarint("time")
		if err != nil || t >= uint64(blockSpanMs) {
			return corrupt("time")
		}
		st.t = int64(t)
		return nil
	}
	dod, err := d.varint("time")
	if err != nil || dod <= -2*blockSpanMs || dod >= 2*blockSpanMs {
		return corrupt("time")
	}
	st.delta += dod
	st.t += st.delta
	if st.delta <= -blockSpanMs || st.delta >= blockSpanMs || st.t < 0 || st.t >= blockSpanMs {
		return corrupt("time")
	}
	return nil
}

func (d *decoder) value(st *runState) (detector.Value, error) {
	switch st.enc {
	case encInt:
		return d.intValue(st)
	case encFloat:
		return d.floatValue(st)
	}
	return d.setValue(st)
}

func (d *decoder) intValue(st *runState) (detector.Value, error) {
	delta, err := d.varint("value")
	if err != nil || delta < -2*maxExactInt || delta > 2*maxExactInt {
		return detector.Value{}, corrupt("value")
	}
	st.prevInt += delta
	if st.prevInt < -maxExactInt || st.prevInt > maxExactInt {
		return detector.Value{}, corrupt("value")
	}
	return detector.Value{Kind: st.kind, Number: float64(st.prevInt)}, nil
}

func (d *decoder) floatValue(st *runState) (detector.Value, error) {
	h, err := d.bytes(1, "value")
	if err != nil {
		return detector.Value{}, err
	}
	if h[0] != 0 {
		trail, n := int(h[0]>>4), int(h[0]&0x0f)
		sig, err := d.bytes(n, "value")
		if err != nil || n == 0 || trail+n > 8 {
			return detector.Value{}, corrupt("value")
		}
		var x uint64
		for i := n - 1; i >= 0; i-- {
			x = x<<8 | uint64(sig[i])
		}
		st.prevBits ^= x << (8 * trail)
	}
	return detector.Value{Kind: st.kind, Number: math.Float64frombits(st.prevBits)}, nil
}

func (d *decoder) setValue(st *runState) (detector.Value, error) {
	n, err := d.uvarint("set size")
	if err != nil || n > uint64(len(d.b))+1 {
		return detector.Value{}, corrupt("set size")
	}
	if n == 0 {
		if st.prevSet == nil {
			return detector.Value{}, corrupt("repeated set without a previous one")
		}
		return cloneSet(*st.prevSet), nil
	}
	v, err := d.set(st.kind, int(n-1))
	if err != nil {
		return detector.Value{}, err
	}
	st.prevSet = &v
	return cloneSet(v), nil
}

// cloneSet copies a set, so that points never share their slices.
func cloneSet(v detector.Value) detector.Value {
	v.Ports = slices.Clone(v.Ports)
	v.IPs = slices.Clone(v.IPs)
	v.Numbers = slices.Clone(v.Numbers)
	v.Strings = slices.Clone(v.Strings)
	return v
}

// set reads n elements of a set kind; n is at most the bytes left, and
// every element takes at least one byte.
func (d *decoder) set(kind detector.ValueKind, n int) (detector.Value, error) {
	v := detector.Value{Kind: kind}
	var err error
	switch kind {
	case detector.KindPorts:
		v.Ports, err = d.ports(n)
	case detector.KindIPs:
		v.IPs, err = d.ips(n)
	case detector.KindNumbers:
		v.Numbers, err = d.numbers(n)
	default:
		v.Strings, err = d.strings(n)
	}
	return v, err
}

func (d *decoder) ports(n int) ([]uint16, error) {
	out := make([]uint16, 0, n)
	prev := int64(0)
	for range n {
		delta, err := d.varint("port")
		if err != nil || delta < -math.MaxUint16 || delta > math.MaxUint16 || prev+delta < 0 || prev+delta > math.MaxUint16 {
			return nil, corrupt("port")
		}
		prev += delta
		out = append(out, uint16(prev))
	}
	return out, nil
}

func (d *decoder) ips(n int) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, n)
	for range n {
		ip, err := d.ip()
		if err != nil {
			return nil, err
		}
		out = append(out, ip)
	}
	return out, nil
}

func (d *decoder) ip() (netip.Addr, error) {
	tag, err := d.bytes(1, "address")
	if err != nil {
		return netip.Addr{}, err
	}
	switch tag[0] {
	case ipInvalid:
		return netip.Addr{}, nil
	case ipV4:
		b, err := d.bytes(4, "address")
		if err != nil {
			return netip.Addr{}, err
		}
		return netip.AddrFrom4([4]byte(b)), nil
	case ipV6, ipV6Zone:
		b, err := d.bytes(16, "address")
		if err != nil {
			return netip.Addr{}, err
		}
		ip := netip.AddrFrom16([16]byte(b))
		if tag[0] == ipV6 {
			return ip, nil
		}
		return d.zone(ip)
	}
	return netip.Addr{}, corrupt("address tag")
}

func (d *decoder) zone(ip netip.Addr) (netip.Addr, error) {
	n, err := d.count("zone")
	if err != nil {
		return netip.Addr{}, err
	}
	z, err := d.bytes(n, "zone")
	if err != nil || n == 0 {
		return netip.Addr{}, corrupt("zone")
	}
	return ip.WithZone(string(z)), nil
}

func (d *decoder) numbers(n int) ([]float64, error) {
	b, err := d.bytes(8*n, "numbers")
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func (d *decoder) strings(n int) ([]string, error) {
	out := make([]string, 0, n)
	for range n {
		size, err := d.count("string")
		if err != nil {
			return nil, err
		}
		s, err := d.bytes(size, "string")
		if err != nil {
			return nil, err
		}
		out = append(out, string(s))
	}
	return out, nil
}
