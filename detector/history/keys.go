package history

import (
	"encoding/binary"
	"time"
)

// The time spans of the layout, in milliseconds.
const (
	blockSpanMs = int64(time.Hour / time.Millisecond)
	daySpanMs   = 24 * blockSpanMs
)

// maxMs bounds the times the history keeps: the start of year 10000.
const maxMs = 253402300800000

// keyPrefix is the history's part of the store's raw key space.
const keyPrefix = "h/"

// newestKey holds the start of the newest block ever written (8 bytes,
// big-endian), so that a restart knows which blocks cannot be on disk yet.
// Its 0xff sorts it after every day partition.
var newestKey = []byte(keyPrefix + "\xffnewest")

// dayKey is the start of a day partition: the prefix and the day number
// since the Unix epoch, big-endian.
func dayKey(day int64) []byte {
	return binary.BigEndian.AppendUint32([]byte(keyPrefix), uint32(day))
}

// seriesKey is the prefix of one series' blocks in a day partition.
func seriesKey(day int64, thing, metric string) []byte {
	return appendSeriesKey(make([]byte, 0, len(keyPrefix)+4+1+len(thing)+1+len(metric)+2), day, thing, metric)
}

func appendSeriesKey(k []byte, day int64, thing, metric string) []byte {
	k = append(k, keyPrefix...)
	k = binary.BigEndian.AppendUint32(k, uint32(day))
	k = append(k, '/')
	k = append(k, thing...)
	k = append(k, 0)
	k = append(k, metric...)
	return append(k, 0)
}

// blockKey is the key of the block starting at start: the series prefix of
// its day and its hour of the day in one byte.
func blockKey(start int64, thing, metric string) []byte {
	return appendBlockKey(nil, start, thing, metric)
}

func appendBlockKey(k []byte, start int64, thing, metric string) []byte {
	return append(appendSeriesKey(k, start/daySpanMs, thing, metric), byte(start%daySpanMs/blockSpanMs))
}

// dayOfKey reads the day number of a block key.
func dayOfKey(key []byte) int64 {
	return int64(binary.BigEndian.Uint32(key[len(keyPrefix):]))
}

// blockStart rounds a time down to its block.
func blockStart(ms int64) int64 { return ms - ms%blockSpanMs }
