package fleetstats

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-iot/vigil/detector/percentile"
	"github.com/vigil-iot/vigil/detector/store"
)

// The raw key space of the summaries:
//
//	f/ profile 0x00 metric 0x00 period start  -> summary
//	f/ 0x00 "closed"                          -> the closed watermark
//	f/ 0x00 "rolled"                          -> the rolled-up watermark
//
// The period is one byte ('m', 'h', 'd') and start is the window's start in
// big-endian epoch seconds, so the summaries of one (profile, metric,
// period) are contiguous and in time order: a series is one range scan, and
// retention one range deletion. Profile names are never empty, so the
// watermarks sort before every summary.
const keyPrefix = "f/"

var (
	closedKey = []byte(keyPrefix + "\x00closed")
	rolledKey = []byte(keyPrefix + "\x00rolled")
)

// series names the summaries of one metric of one profile.
type series struct{ profile, metric string }

// prefix is the key prefix of the series' summaries, all periods.
func (s series) prefix() []byte {
	k := make([]byte, 0, len(keyPrefix)+len(s.profile)+len(s.metric)+2+1+8)
	k = append(k, keyPrefix...)
	k = append(k, s.profile...)
	k = append(k, 0)
	k = append(k, s.metric...)
	return append(k, 0)
}

// key is the key of the summary of the window of period p starting at
// start (epoch seconds).
func (s series) key(p Period, start int64) []byte {
	return binary.BigEndian.AppendUint64(append(s.prefix(), p.code()), uint64(start))
}

// profilePrefix is the key prefix of every summary of a profile.
func profilePrefix(profile string) []byte {
	return append([]byte(keyPrefix+profile), 0)
}

// parseKey splits a summary key. ok is false for the watermarks and for
// keys of another shape.
func parseKey(k []byte) (s series, start int64, ok bool) {
	rest, found := bytes.CutPrefix(k, []byte(keyPrefix))
	profile, rest, found1 := bytes.Cut(rest, []byte{0})
	metric, rest, found2 := bytes.Cut(rest, []byte{0})
	if !found || !found1 || !found2 || len(profile) == 0 || len(rest) != 9 {
		return series{}, 0, false
	}
	return series{string(profile), string(metric)}, int64(binary.BigEndian.Uint64(rest[1:])), true
}

// validName reports whether a profile or metric name can be part of a key.
func validName(s string) bool {
	return s != "" && strings.IndexByte(s, 0) < 0
}

// summaryVersion is the first byte of a stored summary.
const summaryVersion = 1

// encodeSummary writes a summary: the version, the largest number of
// devices in one 5-minute window of it, and the sketch of the values.
func encodeSummary(devices uint64, sk *percentile.Sketch) ([]byte, error) {
	data, err := sk.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode summary: %w", err)
	}
	b := binary.AppendUvarint([]byte{summaryVersion}, devices)
	return append(b, data...), nil
}

// decodeSummary reads what encodeSummary wrote.
func decodeSummary(b []byte) (devices uint64, sk *percentile.Sketch, err error) {
	if len(b) == 0 || b[0] != summaryVersion {
		return 0, nil, errors.New("decode summary: unknown version")
	}
	devices, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return 0, nil, errors.New("decode summary: truncated device count")
	}
	sk = percentile.NewSketch()
	if err := sk.UnmarshalBinary(b[1+n:]); err != nil {
		return 0, nil, fmt.Errorf("decode summary: %w", err)
	}
	return devices, sk, nil
}

// loadWatermark reads a watermark; 0 when it was never written.
func loadWatermark(db *store.DB, key []byte) (int64, error) {
	v, err := db.GetRaw(key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("load fleet statistics watermark: %w", err)
	case len(v) != 8:
		return 0, fmt.Errorf("load fleet statistics watermark: %d bytes, want 8", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// watermark encodes a watermark.
func watermark(sec int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(sec)) }

// allSeries lists every series that has a summary, in key order, by a skip
// scan: one short scan per series.
func allSeries(db *store.DB) ([]series, error) {
	var out []series
	lower, upper := []byte(keyPrefix+"\x01"), store.RawPrefixEnd([]byte(keyPrefix))
	for {
		var next []byte
		err := db.ScanRaw(lower, upper, func(k, _ []byte) bool {
			s, _, ok := parseKey(k)
			if !ok {
				next = append(bytes.Clone(k), 0) // a foreign key: step over it
				return false
			}
			out = append(out, s)
			next = store.RawPrefixEnd(s.prefix())
			return false
		})
		if err != nil {
			return nil, fmt.Errorf("list fleet statistics series: %w", err)
		}
		if next == nil {
			return out, nil
		}
		lower = next
	}
}
