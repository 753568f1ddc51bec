package detector

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// A thing's state is saved after every report that changes it, so it has
// a compact binary form: a version byte, then strings as a length and
// bytes, integers and times (Unix nanoseconds, 0 for none) as varints,
// floats as their 8 bytes, and the two fields that only a violation sets
// (the last value and its threshold) as embedded JSON. The JSON form of
// ThingState, which the first stores held, still decodes: it starts with
// '{', never a version byte.

// stateVersion is the first byte of the binary form.
const stateVersion = 1

// Flags of an alarm in the binary form.
const (
	flagActive = 1 << iota
	flagWindowOpen
	flagLastValue
	flagLastThreshold
	flagPending
)

// maxStateString bounds the strings of a decoded state, against a corrupt
// length that would allocate without limit.
const maxStateString = 1 << 16

// AppendBinary appends the binary form of s to b.
func (s ThingState) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, stateVersion)
	b = appendString(b, s.Thing)
	b = binary.AppendVarint(b, unixNano(s.LastSeen))
	b = binary.AppendUvarint(b, uint64(len(s.Alarms)))
	for _, a := range s.Alarms {
		var err error
		if b, err = a.appendBinary(b); err != nil {
			return nil, fmt.Errorf("encode state of %q: %w", s.Thing, err)
		}
	}
	return b, nil
}

func (a Alarm) appendBinary(b []byte) ([]byte, error) {
	var flags byte
	if a.Active {
		flags |= flagActive
	}
	if a.WindowOpen {
		flags |= flagWindowOpen
	}
	if a.LastValue != nil {
		flags |= flagLastValue
	}
	if a.LastThreshold != nil {
		flags |= flagLastThreshold
	}
	if !a.PendingStart.IsZero() {
		flags |= flagPending
	}
	b = appendString(b, a.Profile)
	b = appendString(b, a.Behavior)
	b = appendString(b, a.Fingerprint)
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(max(a.Violations, 0)))
	b = binary.AppendUvarint(b, uint64(max(a.Compliant, 0)))
	b = appendString(b, a.ViolationID)
	b = binary.AppendVarint(b, unixNano(a.Start))
	b = binary.AppendVarint(b, unixNano(a.LastViolationTime))
	b = binary.AppendVarint(b, unixNano(a.WindowStart))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(a.WindowValue))
	if a.LastValue != nil {
		data, err := json.Marshal(a.LastValue)
		if err != nil {
			return nil, fmt.Errorf("alarm %s/%s: last value: %w", a.Profile, a.Behavior, err)
		}
		b = appendString(b, string(data))
	}
	if a.LastThreshold != nil {
		data, err := json.Marshal(a.LastThreshold)
		if err != nil {
			return nil, fmt.Errorf("alarm %s/%s: last threshold: %w", a.Profile, a.Behavior, err)
		}
		b = appendString(b, string(data))
	}
	if !a.PendingStart.IsZero() {
		b = binary.AppendVarint(b, unixNano(a.PendingStart))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(a.PendingValue))
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeThingState reads a state saved in its binary form, or in the JSON
// form of earlier versions.
func DecodeThingState(data []byte) (ThingState, error) {
	var s ThingState
	if len(data) > 0 && data[0] == '{' {
		err := json.Unmarshal(data, &s)
		return s, err
	}
	r := stateReader{data: data}
	if v := r.byte(); v != stateVersion && r.err == nil {
		return s, fmt.Errorf("thing state: unknown version %d", v)
	}
	s.Thing = r.string()
	s.LastSeen = r.time()
	n := r.uvarint()
	// Each alarm takes at least 22 bytes: more alarms than that cannot be.
	if r.err == nil && n > uint64(len(r.data))/22 {
		return s, fmt.Errorf("thing state: %d alarms in %d bytes", n, len(r.data))
	}
	s.Alarms = make([]Alarm, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		s.Alarms = append(s.Alarms, r.alarm())
	}
	if r.err == nil && len(r.data) > 0 {
		r.err = fmt.Errorf("%d bytes after the state", len(r.data))
	}
	if r.err != nil {
		return ThingState{}, fmt.Errorf("thing state: %w", r.err)
	}
	return s, nil
}

// stateReader reads the binary form; its first error stops it.
type stateReader struct {
	data []byte
	err  error
}

var errShort = errors.New("truncated")

func (r *stateReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.data) == 0 {
		r.err = errShort
		return 0
	}
	c := r.data[0]
	r.data = r.data[1:]
	return c
}

func (r *stateReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data)
	if n <= 0 {
		r.err = errors.New("bad unsigned varint")
		return 0
	}
	r.data = r.data[n:]
	return v
}

func (r *stateReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.data)
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	r.data = r.data[n:]
	return v
}

// count reads a counter of an alarm, which fits an int32.
func (r *stateReader) count() int {
	v := r.uvarint()
	if v > math.MaxInt32 {
		r.fail(fmt.Errorf("counter %d out of range", v))
		return 0
	}
	return int(v)
}

func (r *stateReader) time() time.Time {
	if ns := r.varint(); ns != 0 {
		return unixTime(ns)
	}
	return time.Time{}
}

func (r *stateReader) float() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.data) < 8 {
		r.err = errShort
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.data))
	r.data = r.data[8:]
	return v
}

func (r *stateReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > maxStateString || n > uint64(len(r.data)) {
		r.err = fmt.Errorf("string of %d bytes in %d", n, len(r.data))
		return nil
	}
	b := r.data[:n]
	r.data = r.data[n:]
	return b
}

func (r *stateReader) string() string { return string(r.bytes()) }

func (r *stateReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *stateReader) alarm() Alarm {
	a := Alarm{Profile: r.string(), Behavior: r.string(), Fingerprint: r.string()}
	flags := r.byte()
	a.Violations, a.Compliant = r.count(), r.count()
	a.ViolationID = r.string()
	a.Start, a.LastViolationTime, a.WindowStart = r.time(), r.time(), r.time()
	a.WindowValue = r.float()
	a.Active, a.WindowOpen = flags&flagActive != 0, flags&flagWindowOpen != 0
	if flags&flagLastValue != 0 {
		if data := r.bytes(); r.err == nil {
			a.LastValue = new(Value)
			if err := json.Unmarshal(data, a.LastValue); err != nil {
				r.fail(fmt.Errorf("last value: %w", err))
			}
		}
	}
	if flags&flagLastThreshold != 0 {
		if data := r.bytes(); r.err == nil {
			a.LastThreshold = new(proto.ThresholdInfo)
			if err := json.Unmarshal(data, a.LastThreshold); err != nil {
				r.fail(fmt.Errorf("last threshold: %w", err))
			}
		}
	}
	if flags&flagPending != 0 {
		a.PendingStart, a.PendingValue = r.time(), r.float()
		if a.PendingStart.IsZero() {
			r.fail(errors.New("pending window without a start"))
		}
	}
	if flags&^(flagActive|flagWindowOpen|flagLastValue|flagLastThreshold|flagPending) != 0 {
		r.fail(fmt.Errorf("unknown alarm flags %#x", flags))
	}
	return a
}
