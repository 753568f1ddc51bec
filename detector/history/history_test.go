package history

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/store"
)

// day0 is midnight UTC of the tests' first day.
var day0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func openStore(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newHistory returns a history on a store in a temporary directory.
func newHistory(t testing.TB, o Options) (*History, *store.DB) {
	t.Helper()
	db := openStore(t, t.TempDir())
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return New(db, o), db
}

// sample is a point appended by a test.
type sample struct {
	t time.Time
	n float64
}

// series appends n counts from start, step apart, valued 1000 + i, and
// returns them.
func appendSeries(h *History, thing, metric string, start time.Time, step time.Duration, n int) []sample {
	out := make([]sample, n)
	for i := range out {
		out[i] = sample{start.Add(time.Duration(i) * step), float64(1000 + i)}
		h.Append(thing, metric, out[i].t, count(out[i].n))
	}
	return out
}

// values reads a whole range in one page.
func values(t *testing.T, h *History, thing, metric string, start, end time.Time) []Point {
	t.Helper()
	pts, next, err := h.Values(thing, metric, start, end, "", 0)
	if err != nil || next != "" {
		t.Fatalf("values: %v, next %q", err, next)
	}
	return pts
}

// check compares points with the samples expected.
func check(t *testing.T, got []Point, want []sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d points, want %d", len(got), len(want))
	}
	for i, p := range got {
		if !p.Time.Equal(want[i].t.Truncate(time.Millisecond)) || !sameValue(p.Value, count(want[i].n)) {
			t.Fatalf("point %d: %v %+v, want %v %v", i, p.Time, p.Value, want[i].t, want[i].n)
		}
	}
}

func mustFlush(t testing.TB, h *History) {
	t.Helper()
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Points every 7 minutes from 21:00 to 03:00 cross hourly blocks and a day
// partition; some are flushed, some buffered, and three pages give them
// all back.
func TestValuesAcrossBlocksAndDays(t *testing.T) {
	h, _ := newHistory(t, Options{})
	start := day0.Add(21 * time.Hour)
	want := appendSeries(h, "cam-1", "aws:all-bytes-in", start, 7*time.Minute, 30)
	mustFlush(t, h)
	want = append(want, appendSeries(h, "cam-1", "aws:all-bytes-in", want[29].t.Add(7*time.Minute), 7*time.Minute, 21)...)
	appendSeries(h, "cam-2", "aws:all-bytes-in", start, time.Minute, 100)  // another thing
	appendSeries(h, "cam-1", "aws:all-bytes-out", start, time.Minute, 100) // another metric
	check(t, values(t, h, "cam-1", "aws:all-bytes-in", start, start.Add(24*time.Hour)), want)

	var got []Point
	token := ""
	for page := 1; ; page++ {
		pts, next, err := h.Values("cam-1", "aws:all-bytes-in", start, start.Add(24*time.Hour), token, 20)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pts...)
		if next == "" {
			if page != 3 || len(pts) != 11 {
				t.Errorf("last page is page %d with %d points; want page 3 with 11", page, len(pts))
			}
			break
		}
		if len(pts) != 20 {
			t.Fatalf("page %d: %d points", page, len(pts))
		}
		token = next
	}
	check(t, got, want)
}

// A page boundary between points of one millisecond loses none and
// repeats none.
func TestPagingWithinAMillisecond(t *testing.T) {
	h, _ := newHistory(t, Options{})
	at := day0.Add(time.Hour)
	for i := range 5 {
		h.Append("cam-1", "m", at, count(float64(i)))
	}
	h.Append("cam-1", "m", at.Add(time.Second), count(5))
	var got []float64
	token := ""
	for {
		pts, next, err := h.Values("cam-1", "m", day0, day0.Add(2*time.Hour), token, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pts {
			got = append(got, p.Value.Number)
		}
		if next == "" {
			break
		}
		token = next
		mustFlush(t, h) // the next pages read the same points from the store
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 5]" {
		t.Errorf("pages gave %v", got)
	}
}

func TestTimeRangeEdges(t *testing.T) {
	h, _ := newHistory(t, Options{})
	at := day0.Add(10 * time.Hour)
	h.Append("cam-1", "m", at.Add(-time.Millisecond), count(1))
	h.Append("cam-1", "m", at, count(2))
	h.Append("cam-1", "m", at.Add(500*time.Microsecond), count(3)) // kept as at
	h.Append("cam-1", "m", at.Add(time.Hour-time.Millisecond), count(4))
	h.Append("cam-1", "m", at.Add(time.Hour), count(5))
	tests := []struct {
		name       string
		start, end time.Time
		want       string
	}{
		{"start inclusive, end exclusive", at, at.Add(time.Hour), "[2 3 4]"},
		{"an instant", at, at.Add(time.Millisecond), "[2 3]"},
		// Sub-millisecond bounds: a stored millisecond is inside when the
		// instant it names is.
		{"start after the millisecond", at.Add(time.Microsecond), at.Add(time.Hour), "[4]"},
		{"end inside the millisecond", at.Add(-time.Millisecond), at.Add(time.Microsecond), "[1 2 3]"},
		{"empty", at, at, "[]"},
		{"reversed", at.Add(time.Hour), at, "[]"},
		{"everything", time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), "[1 2 3 4 5]"},
	}
	for _, flushed := range []bool{false, true} {
		if flushed {
			mustFlush(t, h)
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/flushed=%v", tt.name, flushed), func(t *testing.T) {
				var got []float64
				for _, p := range values(t, h, "cam-1", "m", tt.start, tt.end) {
					got = append(got, p.Value.Number)
				}
				if fmt.Sprint(got) != tt.want && !(got == nil && tt.want == "[]") {
					t.Errorf("got %v, want %s", got, tt.want)
				}
			})
		}
	}
}

// Points of one series, flushed, buffered in the open block, and late into
// a closed block, read back as one series before and after the next flush.
func TestBufferedAndFlushed(t *testing.T) {
	h, db := newHistory(t, Options{})
	base := day0.Add(5 * time.Hour)
	h.Append("cam-1", "m", base.Add(10*time.Minute), count(1))
	h.Append("cam-1", "m", base.Add(20*time.Minute), count(2))
	mustFlush(t, h)
	h.Append("cam-1", "m", base.Add(30*time.Minute), count(3))   // open block, rewritten
	h.Append("cam-1", "m", base.Add(70*time.Minute), count(5))   // next hour: closes the first
	h.Append("cam-1", "m", base.Add(25*time.Minute), count(25))  // late, into the closed block
	h.Append("cam-1", "m", base.Add(-30*time.Minute), count(-1)) // late, before anything stored
	want := []sample{{base.Add(-30 * time.Minute), -1}, {base.Add(10 * time.Minute), 1}, {base.Add(20 * time.Minute), 2},
		{base.Add(25 * time.Minute), 25}, {base.Add(30 * time.Minute), 3}, {base.Add(70 * time.Minute), 5}}
	check(t, values(t, h, "cam-1", "m", day0, day0.Add(24*time.Hour)), want)
	mustFlush(t, h)
	check(t, values(t, h, "cam-1", "m", day0, day0.Add(24*time.Hour)), want)
	// The closed and late blocks left the buffer once written.
	h2 := New(db, Options{})
	check(t, values(t, h2, "cam-1", "m", day0, day0.Add(24*time.Hour)), want)
	if n := len(h.shardOf("cam-1").find(seriesID{"cam-1", "m"}).pending); n != 0 {
		t.Errorf("%d blocks still pending", n)
	}
}

// Points flushed before the store is closed are there after it is opened
// again; a restart in the middle of an hour keeps that hour's earlier
// points when the new process writes the same block.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	h := New(db, Options{})
	base := day0.Add(8 * time.Hour)
	want := appendSeries(h, "cam-1", "m", base, 5*time.Minute, 6) // 08:00 to 08:25
	h.Append("cam-1", "ports", base, ports(22, 443))
	mustFlush(t, h)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openStore(t, dir)
	defer db.Close()
	h = New(db, Options{})
	check(t, values(t, h, "cam-1", "m", day0, day0.Add(24*time.Hour)), want)
	more := appendSeries(h, "cam-1", "m", base.Add(30*time.Minute), 5*time.Minute, 8) // 08:30 to 09:05
	mustFlush(t, h)
	want = append(want, more...)
	check(t, values(t, New(db, Options{}), "cam-1", "m", day0, day0.Add(24*time.Hour)), want)
	pts := values(t, h, "cam-1", "ports", day0, day0.Add(24*time.Hour))
	if len(pts) != 1 || !sameValue(pts[0].Value, ports(22, 443)) {
		t.Errorf("ports: %+v", pts)
	}
}

// Retention deletes every day partition that ended before now - Retention,
// hides the older points of the day that holds that instant, and touches
// nothing newer.
func TestExpire(t *testing.T) {
	h, db := newHistory(t, Options{Retention: 14 * 24 * time.Hour})
	for d := range 20 {
		appendSeries(h, "cam-1", "m", day0.AddDate(0, 0, d), 3*time.Hour, 8)
		appendSeries(h, "cam-2", "m", day0.AddDate(0, 0, d), 6*time.Hour, 4)
	}
	mustFlush(t, h)
	// now - 14 days is day 5 at 10:30: days 0 to 4 go; day 5 stays on
	// disk, and its points before 10:30 are hidden.
	now := day0.AddDate(0, 0, 19).Add(10*time.Hour + 30*time.Minute)
	if err := h.Expire(now); err != nil {
		t.Fatal(err)
	}
	horizon := now.Add(-14 * 24 * time.Hour)
	days := storedDays(t, db)
	if len(days) != 15 || days[0] != day0.AddDate(0, 0, 5) {
		t.Errorf("days on disk: %v", days)
	}
	pts := values(t, h, "cam-1", "m", time.Time{}, day0.AddDate(0, 0, 30))
	if len(pts) == 0 || pts[0].Time.Before(horizon) || !pts[0].Time.Equal(day0.AddDate(0, 0, 5).Add(12*time.Hour)) {
		t.Errorf("first point after expiry: %v", pts[0].Time)
	}
	if n := len(pts); n != 4+14*8 { // 12:00 to 21:00 of day 5, and days 6 to 19
		t.Errorf("%d points newer than the horizon, want %d", n, 4+14*8)
	}
	// An older point is dropped; an expired block buffered is not written.
	h.Append("cam-1", "m", day0.AddDate(0, 0, 2), count(1))
	if h.Dropped() != 1 {
		t.Errorf("dropped %d", h.Dropped())
	}
	mustFlush(t, h)
	if days := storedDays(t, db); len(days) != 15 {
		t.Errorf("days on disk after a late flush: %v", days)
	}
}

// An expired day buffered before the retention pass is not written after
// it.
func TestExpireDropsBuffered(t *testing.T) {
	h, db := newHistory(t, Options{Retention: 24 * time.Hour})
	h.Append("cam-1", "m", day0.Add(time.Hour), count(1))
	h.Append("cam-1", "m", day0.AddDate(0, 0, 3), count(2))
	h.Append("cam-2", "m", day0.Add(time.Hour), count(3))
	if err := h.Expire(day0.AddDate(0, 0, 2).Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, h)
	if days := storedDays(t, db); len(days) != 1 || days[0] != day0.AddDate(0, 0, 3) {
		t.Errorf("days on disk: %v", days)
	}
	n := 0
	for i := range h.shards {
		n += h.shards[i].numSeries()
	}
	if n != 1 {
		t.Errorf("%d series buffered, want cam-1's only", n)
	}
}

// storedDays lists the day partitions on disk.
func storedDays(t *testing.T, db *store.DB) []time.Time {
	t.Helper()
	var days []time.Time
	err := db.ScanRaw(dayKey(0), dayKey(maxMs/daySpanMs+1), func(key, _ []byte) bool {
		d := day0.AddDate(0, 0, int(dayOfKey(key)-day0.Unix()/86400))
		if len(days) == 0 || days[len(days)-1] != d {
			days = append(days, d)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return days
}

func TestInvalidInput(t *testing.T) {
	h, _ := newHistory(t, Options{})
	for _, tok := range []string{"x", "1", "1.0", "-5.1", "1.2.3", "99999999999999999.1"} {
		if _, _, err := h.Values("cam-1", "m", day0, day0.Add(time.Hour), tok, 10); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	if _, _, err := h.Values("cam\x00", "m", day0, day0.Add(time.Hour), "", 10); !errors.Is(err, ErrInvalidName) {
		t.Errorf("NUL in a name: %v", err)
	}
	h.Append("cam\x00", "m", day0, count(1))
	h.Append("cam", "m\x00", day0, count(1))
	h.Append("cam", "m", time.Unix(-1, 0), count(1))
	h.Append("cam", "m", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), count(1))
	h.Append("cam", "m", day0, detector.Value{})
	if h.Dropped() != 5 {
		t.Errorf("dropped %d, want 5", h.Dropped())
	}
}

// A stored block that cannot be decoded fails the reads of its hour, and
// the next flush of its hour replaces it, reporting it.
func TestCorruptStoredBlock(t *testing.T) {
	h, db := newHistory(t, Options{})
	at := day0.Add(3 * time.Hour)
	b := db.NewBatch()
	b.SetRaw(blockKey(at.UnixMilli(), "cam-1", "m"), []byte{1, 0xee})
	b.SetRaw(newestKey, binary.BigEndian.AppendUint64(nil, uint64(at.UnixMilli())))
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	h = New(db, Options{})
	if _, _, err := h.Values("cam-1", "m", day0, day0.Add(24*time.Hour), "", 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("reading a corrupt block: %v", err)
	}
	h.Append("cam-1", "m", at, count(7))
	if err := h.Flush(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("flush over a corrupt block: %v", err)
	}
	check(t, values(t, h, "cam-1", "m", day0, day0.Add(24*time.Hour)), []sample{{at, 7}})
}

// A newest block marker that cannot be decoded makes every block merge
// with its stored copy: nothing stored is overwritten.
func TestCorruptMarker(t *testing.T) {
	h, db := newHistory(t, Options{})
	at := day0.Add(4 * time.Hour)
	h.Append("cam-1", "m", at, count(1))
	mustFlush(t, h)
	b := db.NewBatch()
	b.SetRaw(newestKey, []byte{1, 2, 3})
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	h = New(db, Options{})
	h.Append("cam-1", "m", at.Add(time.Minute), count(2))
	mustFlush(t, h)
	want := []sample{{at, 1}, {at.Add(time.Minute), 2}}
	check(t, values(t, New(db, Options{}), "cam-1", "m", day0, day0.Add(24*time.Hour)), want)
}

// Appends, flushes and reads run together; every point is read back once.
func TestConcurrent(t *testing.T) {
	h, _ := newHistory(t, Options{})
	const writers, perWriter = 4, 2000
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				h.Append(fmt.Sprintf("cam-%d", w), fmt.Sprintf("m%d", i%3), day0.Add(time.Duration(i)*time.Minute), count(float64(i)))
			}
		})
	}
	var side sync.WaitGroup
	side.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				if err := h.Flush(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	side.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				if _, _, err := h.Values("cam-0", "m0", day0, day0.AddDate(0, 0, 3), "", 50); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	wg.Wait()
	close(done)
	side.Wait()
	mustFlush(t, h)
	for w := range writers {
		for m := range 3 {
			pts := values(t, h, fmt.Sprintf("cam-%d", w), fmt.Sprintf("m%d", m), day0, day0.AddDate(0, 0, 3))
			if len(pts) != perWriter/3+boolInt(m < perWriter%3) {
				t.Errorf("cam-%d m%d: %d points", w, m, len(pts))
			}
			for i := 1; i < len(pts); i++ {
				if !pts[i].Time.After(pts[i-1].Time) {
					t.Fatalf("cam-%d m%d: out of order at %d", w, m, i)
				}
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Run flushes every interval and once more when it stops.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t, dir)
		defer db.Close()
		h := New(db, Options{FlushInterval: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.Run(ctx)
		}()
		h.Append("cam-1", "m", day0, count(1))
		synctest.Wait()
		if n := len(storedDays(t, db)); n != 0 {
			t.Fatalf("written before the first interval")
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(storedDays(t, db)); n != 1 {
			t.Fatalf("not written after an interval")
		}
		h.Append("cam-1", "m", day0.AddDate(0, 0, 1), count(2))
		cancel()
		<-done
		if n := len(storedDays(t, db)); n != 2 {
			t.Fatalf("not written when Run stopped")
		}
	})
}
