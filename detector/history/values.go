package history

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/detector"
)

// Errors of Values.
var (
	// ErrInvalidToken is returned for a token Values did not make.
	ErrInvalidToken = errors.New("invalid history token")
	// ErrInvalidName is returned for a thing or metric name with a NUL
	// byte: no such series can exist.
	ErrInvalidName = errors.New("thing or metric name holds a NUL byte")
)

// Point is one datapoint of a series.
type Point struct {
	Time  time.Time // UTC, to the millisecond
	Value detector.Value
}

// cursor is where a page starts: after the first n points at ms.
type cursor struct {
	ms int64
	n  int
}

// parseToken reads a token: "ms.n", or "" for the first page.
func parseToken(token string) (cursor, error) {
	if token == "" {
		return cursor{ms: math.MinInt64}, nil
	}
	a, b, ok := strings.Cut(token, ".")
	ms, err1 := strconv.ParseInt(a, 10, 64)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || ms < 0 || ms >= maxMs || n < 1 {
		return cursor{}, ErrInvalidToken
	}
	return cursor{ms: ms, n: n}, nil
}

func (c cursor) String() string { return strconv.FormatInt(c.ms, 10) + "." + strconv.Itoa(c.n) }

// ceilMs converts a time to Unix milliseconds, rounding up, so that a
// stored millisecond is before t exactly when it is before ceilMs(t).
func ceilMs(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// Values returns the points of one thing's metric from start (inclusive)
// to end (exclusive), oldest first, at most limit of them (0 means no
// limit), and the token of the next page ("" when there is none). Points
// appended but not yet flushed are included. Points at the same
// millisecond keep the order they were appended in.
func (h *History) Values(thing, metric string, start, end time.Time, token string, limit int) ([]Point, string, error) {
	if !validName(thing) || !validName(metric) {
		return nil, "", ErrInvalidName
	}
	cur, err := parseToken(token)
	if err != nil {
		return nil, "", err
	}
	q := &query{id: seriesID{thing, metric}, cur: cur, limit: math.MaxInt,
		from: max(ceilMs(start), 0, h.horizon.Load(), cur.ms), to: min(ceilMs(end), maxMs)}
	if limit > 0 {
		q.limit = limit + 1
	}
	if q.to <= q.from {
		return nil, "", nil
	}
	h.flushMu.RLock()
	defer h.flushMu.RUnlock()
	if err := h.read(q); err != nil {
		return nil, "", fmt.Errorf("read history of %q %q: %w", thing, metric, err)
	}
	return q.page(limit)
}

// query is a Values call in progress.
type query struct {
	id       seriesID
	from, to int64 // Unix ms, to exclusive
	cur      cursor
	skipped  int // points at cur.ms skipped so far
	limit    int
	mem      map[int64]memBlock
	out      []Point
}

// memBlock is a buffered block as a query sees it.
type memBlock struct {
	runs     []byte
	complete bool
}

// read collects the points, day by day, from the first day with stored
// data or buffered blocks.
func (h *History) read(q *query) error {
	q.mem = h.buffered(q)
	first, last := q.from/daySpanMs, (q.to-1)/daySpanMs
	if n := h.newest.Load(); n < 0 {
		return nil
	} else if n != math.MaxInt64 {
		last = min(last, n/daySpanMs)
	}
	stored, err := h.firstStoredDay(first, last)
	if err != nil {
		return err
	}
	from := stored
	for start := range q.mem {
		from = min(from, start/daySpanMs)
	}
	for day := from; day <= last && len(q.out) < q.limit; day++ {
		if err := h.readDay(q, day, day >= stored); err != nil {
			return err
		}
	}
	return nil
}

// buffered copies the query's series' buffered blocks in its time range.
func (h *History) buffered(q *query) map[int64]memBlock {
	sh := h.shardOf(q.id.thing)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.find(q.id)
	if s == nil {
		return nil
	}
	mem := map[int64]memBlock{}
	for b := range s.blocks {
		if b.start+blockSpanMs > q.from && b.start < q.to {
			mem[b.start] = memBlock{runs: b.appendRuns(nil), complete: b.complete}
		}
	}
	return mem
}

// firstStoredDay returns the first day from first to last with a stored
// block of any series, or last + 1 when there is none.
func (h *History) firstStoredDay(first, last int64) (int64, error) {
	day := last + 1
	err := h.db.ScanRaw(dayKey(first), dayKey(last+1), func(key, _ []byte) bool {
		if len(key) >= len(keyPrefix)+4 {
			day = dayOfKey(key)
		}
		return false
	})
	return day, err
}

// readDay collects the points of one day's blocks.
func (h *History) readDay(q *query, day int64, scan bool) error {
	lo, hi := q.hours(day)
	var stored [24][]byte
	if scan {
		prefix := seriesKey(day, q.id.thing, q.id.metric)
		err := h.db.ScanRaw(append(prefix, byte(lo)), append(prefix[:len(prefix):len(prefix)], byte(hi+1)), func(key, value []byte) bool {
			if len(key) == len(prefix)+1 && bytes.HasPrefix(key, prefix) && int(key[len(prefix)]) < len(stored) {
				stored[key[len(prefix)]] = bytes.Clone(value)
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	for hour := lo; hour <= hi && len(q.out) < q.limit; hour++ {
		start := day*daySpanMs + int64(hour)*blockSpanMs
		pts, err := q.block(start, stored[hour])
		if err != nil {
			return fmt.Errorf("block of %s: %w", time.UnixMilli(start).UTC().Format(time.RFC3339), err)
		}
		q.take(pts)
	}
	return nil
}

// hours returns the first and last hours of a day in the query's range.
func (q *query) hours(day int64) (int, int) {
	lo, hi := 0, 23
	if day == q.from/daySpanMs {
		lo = int(q.from % daySpanMs / blockSpanMs)
	}
	if day == (q.to-1)/daySpanMs {
		hi = int((q.to - 1) % daySpanMs / blockSpanMs)
	}
	return lo, hi
}

// block decodes a block from the store, the buffer, or both, in time
// order.
func (q *query) block(start int64, stored []byte) ([]Point, error) {
	m, inMem := q.mem[start]
	var pts []Point
	var err error
	if stored != nil && !m.complete {
		if pts, err = decodeBlock(start, stored, nil); err != nil {
			return nil, err
		}
	}
	if inMem {
		if pts, err = decodeRuns(start, m.runs, pts); err != nil {
			return nil, err
		}
	}
	byTime := func(a, b Point) int { return a.Time.Compare(b.Time) }
	if !slices.IsSortedFunc(pts, byTime) {
		slices.SortStableFunc(pts, byTime)
	}
	return pts, nil
}

// take adds the points in range, after the cursor, up to the limit.
func (q *query) take(pts []Point) {
	for _, p := range pts {
		ms := p.Time.UnixMilli()
		switch {
		case ms < q.from || ms >= q.to:
			continue
		case ms == q.cur.ms && q.skipped < q.cur.n:
			q.skipped++
			continue
		case len(q.out) >= q.limit:
			return
		}
		q.out = append(q.out, p)
	}
}

// page cuts the points to limit and makes the token of the rest.
func (q *query) page(limit int) ([]Point, string, error) {
	if limit <= 0 || len(q.out) <= limit {
		return q.out, "", nil
	}
	out := q.out[:limit]
	next := cursor{ms: out[limit-1].Time.UnixMilli()}
	for i := limit - 1; i >= 0 && out[i].Time.UnixMilli() == next.ms; i-- {
		next.n++
	}
	if next.ms == q.cur.ms {
		next.n += q.cur.n
	}
	return out, next.String(), nil
}
