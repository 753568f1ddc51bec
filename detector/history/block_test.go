package history

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector"
)

// hour0 is the start of a block.
var hour0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC).UnixMilli()

func count(n float64) detector.Value  { return detector.Value{Kind: detector.KindCount, Number: n} }
func number(n float64) detector.Value { return detector.Value{Kind: detector.KindNumber, Number: n} }
func ports(p ...uint16) detector.Value {
	return detector.Value{Kind: detector.KindPorts, Ports: append([]uint16{}, p...)}
}
func ips(s ...string) detector.Value {
	v := detector.Value{Kind: detector.KindIPs, IPs: []netip.Addr{}}
	for _, a := range s {
		v.IPs = append(v.IPs, netip.MustParseAddr(a))
	}
	return v
}
func numbers(n ...float64) detector.Value {
	return detector.Value{Kind: detector.KindNumbers, Numbers: append([]float64{}, n...)}
}
func strs(s ...string) detector.Value {
	return detector.Value{Kind: detector.KindStrings, Strings: append([]string{}, s...)}
}

// encode returns the block as it is stored.
func (b *block) encode() []byte { return b.appendRuns([]byte{blockVersion}) }

// roundTrip encodes values at offsets in one block, decodes them, and
// checks they come back exactly.
func roundTrip(t *testing.T, offsets []int64, values []detector.Value) []byte {
	t.Helper()
	b := &block{start: hour0}
	for i, v := range values {
		b.add(hour0+offsets[i], v)
	}
	data := b.encode()
	got, err := decodeBlock(hour0, data, nil)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(got) != len(values) {
		t.Fatalf("%d points, want %d", len(got), len(values))
	}
	for i, p := range got {
		if want := time.UnixMilli(hour0 + offsets[i]).UTC(); !p.Time.Equal(want) {
			t.Errorf("point %d at %v, want %v", i, p.Time, want)
		}
		if !sameValue(p.Value, values[i]) {
			t.Errorf("point %d: %+v, want %+v", i, p.Value, values[i])
		}
	}
	return data
}

// sameValue compares values bit for bit (NaN equals NaN, -0 differs from
// 0), with empty sets equal to nil ones.
func sameValue(a, b detector.Value) bool {
	if a.Kind != b.Kind || math.Float64bits(a.Number) != math.Float64bits(b.Number) ||
		len(a.Ports)+len(b.Ports) > 0 && !reflect.DeepEqual(a.Ports, b.Ports) ||
		len(a.IPs)+len(b.IPs) > 0 && !reflect.DeepEqual(a.IPs, b.IPs) ||
		len(a.Strings)+len(b.Strings) > 0 && !reflect.DeepEqual(a.Strings, b.Strings) ||
		len(a.Numbers) != len(b.Numbers) {
		return false
	}
	for i := range a.Numbers {
		if math.Float64bits(a.Numbers[i]) != math.Float64bits(b.Numbers[i]) {
			return false
		}
	}
	return true
}

// every5min returns n offsets 5 minutes apart, with some jitter.
func every5min(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)*300_000 + int64(i*37%200)
	}
	return out
}

func TestRoundTripEveryKind(t *testing.T) {
	tests := []struct {
		name   string
		values []detector.Value
	}{
		{"counts", []detector.Value{count(0), count(1200), count(1100), count(1 << 40), count(3)}},
		// Counts a float64 holds but encInt does not: they go to a float run.
		{"huge counts", []detector.Value{count(5), count(1 << 60), count(math.MaxUint64), count(7)}},
		{"integral numbers", []detector.Value{number(-5), number(0), number(1e15), number(-maxExactInt)}},
		// The run switches to floats at 0.5 and keeps integers in it.
		{"numbers", []detector.Value{number(1), number(2), number(0.5), number(3), number(-0.25)}},
		{"special floats", []detector.Value{number(math.NaN()), number(math.Inf(1)), number(math.Inf(-1)),
			number(math.Copysign(0, -1)), number(math.SmallestNonzeroFloat64), number(math.MaxFloat64)}},
		{"ports", []detector.Value{ports(22, 443, 8080), ports(22, 443, 8080), ports(), ports(65535, 0), ports(22, 443, 8080)}},
		{"ips", []detector.Value{ips("10.0.0.1", "192.168.1.20"), ips("10.0.0.1", "192.168.1.20"), ips(),
			ips("2001:db8::1", "::ffff:10.0.0.1", "fe80::1%eth0"), {Kind: detector.KindIPs, IPs: []netip.Addr{{}}}}},
		{"numbers sets", []detector.Value{numbers(1.5, -2, math.Inf(1)), numbers(1.5, -2, math.Inf(1)), numbers(), numbers(0)}},
		{"strings", []detector.Value{strs("a", "bb"), strs("a", "bb"), strs(""), strs(), strs("é", "\x00zero")}},
		// A metric whose type changed inside the hour: each kind has its run.
		{"kind changes", []detector.Value{count(4), ports(80), count(5), number(2.5), strs("x"), count(6)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roundTrip(t, every5min(len(tt.values)), tt.values)
		})
	}
}

func TestRoundTripTimes(t *testing.T) {
	tests := []struct {
		name    string
		offsets []int64
	}{
		{"regular", []int64{0, 300_000, 600_000, 900_000}},
		{"jittered", []int64{17, 300_400, 599_950, 900_002}},
		// Late points, in any order, and several at one millisecond.
		{"out of order", []int64{3_599_999, 0, 1_800_000, 1_800_000, 5, 3_599_999}},
		{"one point", []int64{42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := make([]detector.Value, len(tt.offsets))
			for i := range values {
				values[i] = count(float64(i))
			}
			roundTrip(t, tt.offsets, values)
		})
	}
}

// A regular series of small counts costs about two bytes a point.
func TestBlockIsCompact(t *testing.T) {
	values := make([]detector.Value, 12)
	for i := range values {
		values[i] = count(float64(3 + i%2))
	}
	data := roundTrip(t, every5min(12), values)
	if len(data) > 2*12+8 {
		t.Errorf("%d bytes for 12 points", len(data))
	}
	repeated := []detector.Value{ports(22, 80, 443, 8080, 8443), ports(22, 80, 443, 8080, 8443), ports(22, 80, 443, 8080, 8443)}
	if small := roundTrip(t, every5min(3), repeated); len(small) > 20 {
		t.Errorf("a repeated set takes %d bytes for 3 points", len(small))
	}
}

func TestDecodeCorrupt(t *testing.T) {
	b := &block{start: hour0}
	b.add(hour0+10, ports(1, 2))
	b.add(hour0+20, ports(1, 2))
	good := b.encode()
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", []byte{9}},
		{"unknown kind", []byte{1, 0x07, 1, 0, 0}},
		{"set encoding for a count", []byte{1, 0x21, 1, 0, 0}},
		{"zero points", []byte{1, 0x01, 0}},
		{"count beyond the data", []byte{1, 0x01, 100, 0, 0}},
		{"time beyond the hour", append(binary.AppendUvarint([]byte{1, 0x01, 1}, uint64(blockSpanMs)), 0)},
		{"second time beyond the hour", []byte{1, 0x01, 2, 0, 0, 0x7d, 0}}, // 0, then -63 ms
		{"truncated", good[:len(good)-2]},
		{"repeat without a set", []byte{1, 0x23, 1, 0, 0}},
		{"port beyond 65535", []byte{1, 0x23, 1, 0, 2, 0x80, 0x80, 0x08}},
		{"float of 9 bytes", []byte{1, 0x12, 1, 0, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"address tag", []byte{1, 0x24, 1, 0, 2, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeBlock(hour0, tt.data, nil); !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzDecodeBlock checks that the decoder never panics, and that what it
// accepts encodes back to the same points.
func FuzzDecodeBlock(f *testing.F) {
	for _, values := range [][]detector.Value{
		{count(1), count(5), count(1 << 50)},
		{number(1.5), number(2), number(math.NaN())},
		{ports(22, 443), ports(22, 443), ports()},
		{ips("10.0.0.1", "fe80::1%eth0"), ips()},
		{numbers(1, 2.5), strs("a", "b"), count(3)},
	} {
		b := &block{start: hour0}
		for i, v := range values {
			b.add(hour0+int64(i)*300_000, v)
		}
		f.Add(b.encode())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pts, err := decodeBlock(hour0, data, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		b := &block{start: hour0}
		for _, p := range pts {
			if p.Time.UnixMilli() < hour0 || p.Time.UnixMilli() >= hour0+blockSpanMs {
				t.Fatalf("point at %v outside its block", p.Time)
			}
			b.add(p.Time.UnixMilli(), p.Value)
		}
		again, err := decodeBlock(hour0, b.encode(), nil)
		if err != nil || len(again) != len(pts) {
			t.Fatalf("re-encoded: %d points, %v; want %d", len(again), err, len(pts))
		}
		for i := range pts {
			if !again[i].Time.Equal(pts[i].Time) || !sameValue(again[i].Value, pts[i].Value) {
				t.Fatalf("point %d: %+v, want %+v", i, again[i], pts[i])
			}
		}
	})
}
