package fleetstats_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/store"
)

// t0 starts a UTC day, so that windows, hours and days line up with it.
var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

const (
	min5  = 5 * time.Minute
	grace = fleetstats.DefaultGrace
)

// openDB opens a store in dir, closed at the end of the test unless the
// test closes it first.
func openDB(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newAggregator returns an aggregator on a fresh store.
func newAggregator(t testing.TB, o fleetstats.Options) *fleetstats.Aggregator {
	t.Helper()
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { _ = db.Close() })
	return mustNew(t, db, o)
}

func mustNew(t testing.TB, db *store.DB, o fleetstats.Options) *fleetstats.Aggregator {
	t.Helper()
	a, err := fleetstats.New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func tick(t testing.TB, a *fleetstats.Aggregator, now time.Time) {
	t.Helper()
	if err := a.Tick(now); err != nil {
		t.Fatalf("tick at %s: %v", now.Format(time.RFC3339), err)
	}
}

// all returns every point of a series in [start, end), reading page after
// page.
func all(t testing.TB, a *fleetstats.Aggregator, profile, metric string, start, end time.Time, p fleetstats.Period, stats ...string) []fleetstats.Point {
	t.Helper()
	var out []fleetstats.Point
	token := ""
	for {
		page, next, err := a.Series(profile, metric, start, end, p, stats, token, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		token = next
	}
}

// only returns the single point of a series in [start, end).
func only(t testing.TB, a *fleetstats.Aggregator, start time.Time, p fleetstats.Period, stats ...string) fleetstats.Point {
	t.Helper()
	pts := all(t, a, "prof", "m", start, start.Add(p.Duration()), p, stats...)
	if len(pts) != 1 {
		t.Fatalf("%d points of %s at %s, want 1: %+v", len(pts), p, start.Format(time.RFC3339), pts)
	}
	return pts[0]
}

func TestCountersAndGauges(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{})
	// Counters: every datapoint of the window adds to the device's value.
	a.Add("prof", "bytes", "a", t0.Add(10*time.Second), 10, true)
	a.Add("prof", "bytes", "a", t0.Add(2*time.Minute), 20, true)
	a.Add("prof", "bytes", "a", t0.Add(4*time.Minute), 5, true)
	a.Add("prof", "bytes", "b", t0.Add(3*time.Minute), 7, true)
	// Gauges: the latest datapoint by time wins, even when an older one
	// arrives after it.
	a.Add("prof", "ports", "a", t0.Add(1*time.Minute), 5, false)
	a.Add("prof", "ports", "a", t0.Add(3*time.Minute), 9, false)
	a.Add("prof", "ports", "a", t0.Add(2*time.Minute), 100, false)
	a.Add("prof", "ports", "b", t0.Add(4*time.Minute), 2, false)
	// The next window is another value.
	a.Add("prof", "bytes", "a", t0.Add(min5), 1000, true)
	a.Add("prof", "ports", "a", t0.Add(min5), 1000, false)
	tick(t, a, t0.Add(min5+grace))

	tests := []struct {
		metric             string
		wantMin, wantMax   float64
		wantDevices, wantN uint64
	}{
		{"bytes", 7, 35, 2, 2},
		{"ports", 2, 9, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			pts := all(t, a, "prof", tt.metric, t0, t0.Add(time.Hour), fleetstats.Period5m, "p0", "p100")
			if len(pts) != 1 {
				t.Fatalf("%d points, want the closed window only: %+v", len(pts), pts)
			}
			p := pts[0]
			if p.Values["p0"] != tt.wantMin || p.Values["p100"] != tt.wantMax || p.Devices != tt.wantDevices || p.Samples != tt.wantN {
				t.Errorf("got p0 %v p100 %v devices %d samples %d, want %v %v %d %d",
					p.Values["p0"], p.Values["p100"], p.Devices, p.Samples, tt.wantMin, tt.wantMax, tt.wantDevices, tt.wantN)
			}
			if !p.Start.Equal(t0) || p.Period != fleetstats.Period5m {
				t.Errorf("window %s %s", p.Start, p.Period)
			}
		})
	}
}

func TestGrace(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{})
	a.Add("prof", "m", "on-time", t0.Add(time.Minute), 1, false)
	// Just before the end plus the grace, the window is still open.
	tick(t, a, t0.Add(min5+grace-time.Millisecond))
	if pts := all(t, a, "prof", "m", t0, t0.Add(time.Hour), fleetstats.Period5m); len(pts) != 0 {
		t.Fatalf("window closed before its grace ended: %+v", pts)
	}
	a.Add("prof", "m", "late-within-grace", t0.Add(4*time.Minute), 2, false)
	tick(t, a, t0.Add(min5+grace))
	// After the Tick that closed it, a datapoint of the window goes to no
	// window: neither its own nor the next one.
	a.Add("prof", "m", "after-grace", t0.Add(4*time.Minute), 3, false)
	tick(t, a, t0.Add(2*min5+grace))

	p := only(t, a, t0, fleetstats.Period5m, "p100")
	if p.Devices != 2 || p.Values["p100"] != 2 {
		t.Errorf("closed window: devices %d p100 %v, want 2 and 2", p.Devices, p.Values["p100"])
	}
	if pts := all(t, a, "prof", "m", t0.Add(min5), t0.Add(time.Hour), fleetstats.Period5m); len(pts) != 0 {
		t.Errorf("the late datapoint went to a later window: %+v", pts)
	}
	if st := a.Stats(); st.Late != 1 || st.Held != 0 {
		t.Errorf("stats %+v, want 1 late and nothing held", st)
	}
}

func TestDefaultsAndGraceOption(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{Grace: -1})
	a.Add("prof", "m", "d", t0, 1, false)
	tick(t, a, t0.Add(min5)) // no grace: closes at the window's end
	only(t, a, t0, fleetstats.Period5m)
}

func TestHoursAndDaysOnlyWhenClosed(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{})
	for i := range 13 {
		a.Add("prof", "m", "d", t0.Add(time.Duration(i)*min5), float64(i), false)
	}
	// The hour's last window is closed at 01:00 plus the grace, not before.
	tick(t, a, t0.Add(time.Hour+grace-time.Second))
	if pts := all(t, a, "prof", "m", t0, t0.Add(24*time.Hour), fleetstats.Period1h); len(pts) != 0 {
		t.Fatalf("hour before its last window closed: %+v", pts)
	}
	tick(t, a, t0.Add(time.Hour+grace))
	h := only(t, a, t0, fleetstats.Period1h, "p0", "p100")
	if h.Samples != 12 || h.Devices != 1 || h.Values["p0"] != 0 || h.Values["p100"] != 11 {
		t.Errorf("hour %+v, want 12 samples of 1 device from 0 to 11", h)
	}
	if pts := all(t, a, "prof", "m", t0, t0.Add(48*time.Hour), fleetstats.Period1d); len(pts) != 0 {
		t.Errorf("a day before it is complete: %+v", pts)
	}
}

func TestPartialHour(t *testing.T) {
	// Windows 2, 3 and 7 of the hour have no device: the hour merges the
	// others.
	a := newAggregator(t, fleetstats.Options{})
	var want uint64
	for i := range 12 {
		if i == 2 || i == 3 || i == 7 {
			continue
		}
		for d := range i + 1 {
			a.Add("prof", "m", fmt.Sprint("d", d), t0.Add(time.Duration(i)*min5), float64(d), false)
			want++
		}
	}
	tick(t, a, t0.Add(time.Hour+grace))
	h := only(t, a, t0, fleetstats.Period1h, "p100")
	if h.Samples != want || h.Devices != 12 || h.Values["p100"] != 11 {
		t.Errorf("hour %+v, want %d samples, at most 12 devices, p100 11", h, want)
	}
}

func TestRetention(t *testing.T) {
	const retention = 48 * time.Hour
	a := newAggregator(t, fleetstats.Options{Retention: retention})
	end := t0.Add(84 * time.Hour) // three and a half days
	for w := t0; w.Before(end); w = w.Add(min5) {
		a.Add("prof", "m", "d", w, 1, false)
		tick(t, a, w.Add(min5+grace))
	}
	now := end.Add(grace)
	cutoff := now.Add(-retention).Truncate(time.Hour)
	tests := []struct {
		period fleetstats.Period
		first  time.Time // the oldest summary kept
		count  int
	}{
		{fleetstats.Period5m, cutoff, int(end.Sub(cutoff) / min5)},
		{fleetstats.Period1h, cutoff, int(end.Sub(cutoff) / time.Hour)},
		// The day starting before the cutoff is gone; the next one, whole,
		// stays; the current one is not complete.
		{fleetstats.Period1d, t0.Add(48 * time.Hour), 1},
	}
	for _, tt := range tests {
		t.Run(tt.period.String(), func(t *testing.T) {
			pts := all(t, a, "prof", "m", time.Unix(0, 0), end.Add(48*time.Hour), tt.period)
			if len(pts) != tt.count {
				t.Fatalf("%d summaries, want %d", len(pts), tt.count)
			}
			if !pts[0].Start.Equal(tt.first) {
				t.Errorf("oldest summary at %s, want %s", pts[0].Start, tt.first)
			}
			for i := 1; i < len(pts); i++ {
				if pts[i].Start.Sub(pts[i-1].Start) != tt.period.Duration() {
					t.Fatalf("gap between %s and %s", pts[i-1].Start, pts[i].Start)
				}
			}
		})
	}
}

func TestOldWindowsAreNotStored(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{Retention: time.Hour})
	a.Add("prof", "m", "d", t0, 1, false)
	tick(t, a, t0.Add(3*time.Hour))
	if pts := all(t, a, "prof", "m", t0, t0.Add(time.Hour), fleetstats.Period5m); len(pts) != 0 {
		t.Errorf("a window older than the retention was stored: %+v", pts)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	a := mustNew(t, db, fleetstats.Options{})
	for i := range 6 { // the first half hour
		a.Add("prof", "m", "d1", t0.Add(time.Duration(i)*min5), float64(i), false)
	}
	tick(t, a, t0.Add(30*time.Minute+grace))
	// A value of a window still open when the process stops is lost.
	a.Add("prof", "m", "d1", t0.Add(30*time.Minute), 6, false)
	before := all(t, a, "prof", "m", t0, t0.Add(time.Hour), fleetstats.Period5m, "p50")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	t.Cleanup(func() { _ = db.Close() })
	a = mustNew(t, db, fleetstats.Options{})
	after := all(t, a, "prof", "m", t0, t0.Add(time.Hour), fleetstats.Period5m, "p50")
	if fmt.Sprint(before) != fmt.Sprint(after) || len(after) != 6 {
		t.Fatalf("summaries after reopening:\n%+v\nwant\n%+v", after, before)
	}
	// The closed watermark survived: a window stored before the restart is
	// not reopened by a late datapoint.
	a.Add("prof", "m", "d2", t0.Add(time.Minute), 99, false)
	for i := 7; i < 12; i++ {
		a.Add("prof", "m", "d1", t0.Add(time.Duration(i)*min5), float64(i), false)
	}
	tick(t, a, t0.Add(time.Hour+grace))
	if st := a.Stats(); st.Late != 1 {
		t.Errorf("late datapoints %d, want 1", st.Late)
	}
	if p := only(t, a, t0, fleetstats.Period5m, "p100"); p.Values["p100"] != 0 || p.Devices != 1 {
		t.Errorf("first window changed after the restart: %+v", p)
	}
	// The hour merges the windows from before and after the restart; the
	// one open at the stop is missing.
	h := only(t, a, t0, fleetstats.Period1h, "p0", "p100")
	if h.Samples != 11 || h.Values["p0"] != 0 || h.Values["p100"] != 11 {
		t.Errorf("hour %+v, want 11 samples from 0 to 11", h)
	}
}

func TestRollUpAfterDowntime(t *testing.T) {
	// The process is stopped over an hour boundary and a day boundary: the
	// first Tick after the restart rolls them up from what was stored.
	dir := t.TempDir()
	db := openDB(t, dir)
	a := mustNew(t, db, fleetstats.Options{})
	last := t0.Add(24*time.Hour - min5)
	for w := t0.Add(20 * time.Hour); w.Before(last); w = w.Add(min5) {
		a.Add("prof", "m", "d", w, 1, false)
	}
	tick(t, a, last.Add(grace)) // every window but the day's last is closed
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir)
	t.Cleanup(func() { _ = db.Close() })
	a = mustNew(t, db, fleetstats.Options{})
	tick(t, a, t0.Add(30*time.Hour))
	if h := only(t, a, t0.Add(23*time.Hour), fleetstats.Period1h); h.Samples != 11 {
		t.Errorf("last hour of the day: %d samples, want 11", h.Samples)
	}
	if d := only(t, a, t0, fleetstats.Period1d); d.Samples != 4*12-1 {
		t.Errorf("day: %d samples, want %d", d.Samples, 4*12-1)
	}
}

func TestForget(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{})
	for _, prof := range []string{"prof", "prof2", "pro"} {
		a.Add(prof, "m", "d", t0, 1, false)
		a.Add(prof, "m", "d", t0.Add(min5), 1, false)
	}
	tick(t, a, t0.Add(min5+grace))
	if err := a.Forget("prof"); err != nil {
		t.Fatal(err)
	}
	tick(t, a, t0.Add(2*min5+grace)) // the open window of prof was dropped too
	if pts := all(t, a, "prof", "m", t0, t0.Add(time.Hour), fleetstats.Period5m); len(pts) != 0 {
		t.Errorf("forgotten profile still has %+v", pts)
	}
	for _, prof := range []string{"prof2", "pro"} {
		if pts := all(t, a, prof, "m", t0, t0.Add(time.Hour), fleetstats.Period5m); len(pts) != 2 {
			t.Errorf("profile %s: %d summaries, want 2", prof, len(pts))
		}
	}
}

func TestMaxValues(t *testing.T) {
	const maxValues = 128
	a := newAggregator(t, fleetstats.Options{MaxValues: maxValues})
	for i := range 10 * maxValues {
		a.Add("prof", "m", fmt.Sprint("d", i), t0, 1, false)
	}
	st := a.Stats()
	if st.Held > maxValues || st.Held == 0 || uint64(st.Held)+st.Overflow != 10*maxValues {
		t.Fatalf("stats %+v with MaxValues %d", st, maxValues)
	}
	// A device already held is still updated.
	held := st.Held
	for i := range 10 * maxValues {
		a.Add("prof", "m", fmt.Sprint("d", i), t0.Add(time.Second), 2, false)
	}
	tick(t, a, t0.Add(min5+grace))
	p := only(t, a, t0, fleetstats.Period5m, "p0")
	if p.Devices != uint64(held) || p.Values["p0"] != 2 {
		t.Errorf("window %+v, want %d devices at 2", p, held)
	}
	if a.Stats().Held != 0 {
		t.Errorf("values still held after the window closed: %+v", a.Stats())
	}
}

func TestIgnored(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{})
	a.Add("", "m", "d", t0, 1, false)
	a.Add("p\x00x", "m", "d", t0, 1, false)
	a.Add("prof", "m\x00", "d", t0, 1, false)
	a.Add("prof", "m", "d", time.Unix(-10, 0), 1, false)
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		a.Add("prof", "m", "d", t0, v, true)
	}
	if st := a.Stats(); st.Held != 0 {
		t.Errorf("held %d values, want none", st.Held)
	}
}

func TestSeriesPages(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{})
	for i := range 12 {
		a.Add("prof", "m", "d", t0.Add(time.Duration(i)*min5), float64(i), false)
	}
	tick(t, a, t0.Add(time.Hour+grace))

	var got []float64
	token, pages := "", 0
	for {
		pts, next, err := a.Series("prof", "m", t0, t0.Add(time.Hour), fleetstats.Period5m, []string{"p50"}, token, 5)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range pts {
			got = append(got, p.Values["p50"])
		}
		if next == "" {
			break
		}
		token = next
	}
	if pages != 3 || fmt.Sprint(got) != "[0 1 2 3 4 5 6 7 8 9 10 11]" {
		t.Errorf("%d pages of %v", pages, got)
	}

	// [start, end): the window starting at end is out; a start inside a
	// window leaves that window out.
	if pts := all(t, a, "prof", "m", t0.Add(min5), t0.Add(3*min5), fleetstats.Period5m); len(pts) != 2 {
		t.Errorf("[00:05, 00:15): %d windows, want 2", len(pts))
	}
	if pts := all(t, a, "prof", "m", t0.Add(time.Second), t0.Add(min5+time.Nanosecond), fleetstats.Period5m); len(pts) != 1 ||
		!pts[0].Start.Equal(t0.Add(min5)) {
		t.Errorf("[00:00:01, 00:05:00.000000001): %+v, want the 00:05 window", pts)
	}
	if pts := all(t, a, "prof", "m", t0.Add(time.Hour), t0, fleetstats.Period5m); len(pts) != 0 {
		t.Errorf("reversed range: %+v", pts)
	}
	p := only(t, a, t0, fleetstats.Period5m)
	if len(p.Values) != len(fleetstats.DefaultStatistics) {
		t.Errorf("default statistics: %v", p.Values)
	}
}

func TestSeriesArguments(t *testing.T) {
	a := newAggregator(t, fleetstats.Options{})
	tests := []struct {
		name   string
		period fleetstats.Period
		stats  []string
		token  string
		want   error
	}{
		{"bad period", fleetstats.Period(time.Minute), nil, "", fleetstats.ErrInvalid},
		{"bad statistic", fleetstats.Period5m, []string{"p50", "p42"}, "", fleetstats.ErrInvalid},
		{"not a statistic", fleetstats.Period5m, []string{"median"}, "", fleetstats.ErrInvalid},
		{"bad token", fleetstats.Period1h, nil, "xyz", fleetstats.ErrInvalidToken},
		{"negative token", fleetstats.Period1h, nil, "-5", fleetstats.ErrInvalidToken},
		{"fine", fleetstats.Period1d, []string{"p99.9"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := a.Series("prof", "m", t0, t0.Add(time.Hour), tt.period, tt.stats, tt.token, 0)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}
