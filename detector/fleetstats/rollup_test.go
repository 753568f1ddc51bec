package fleetstats

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/percentile"
	"github.com/vigil-iot/vigil/detector/store"
)

// stored reads a stored summary; ok is false when there is none.
func stored(t *testing.T, db *store.DB, s series, p Period, start int64) (devices uint64, sk *percentile.Sketch, ok bool) {
	t.Helper()
	v, err := db.GetRaw(s.key(p, start))
	if err == store.ErrNotFound {
		return 0, nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	devices, sk, err = decodeSummary(v)
	if err != nil {
		t.Fatal(err)
	}
	return devices, sk, true
}

// mergeStored merges the stored summaries of period p in [from, to),
// newest first, read one by one rather than by the scan under test.
func mergeStored(t *testing.T, db *store.DB, s series, p Period, from, to int64) (uint64, *percentile.Sketch, int) {
	t.Helper()
	out, devices, n := percentile.NewSketch(), uint64(0), 0
	for start := to - p.Seconds(); start >= from; start -= p.Seconds() {
		if d, sk, ok := stored(t, db, s, p, start); ok {
			out.Merge(sk)
			devices, n = max(devices, d), n+1
		}
	}
	return devices, out, n
}

// sameSketch compares two sketches at every 0.1 percentile, exactly.
func sameSketch(t *testing.T, what string, got, want *percentile.Sketch) {
	t.Helper()
	if got.Count() != want.Count() {
		t.Fatalf("%s: count %d, want %d", what, got.Count(), want.Count())
	}
	for i := 0; i <= 1000; i++ {
		p := float64(i) / 10
		if g, w := got.Quantile(p), want.Quantile(p); g != w {
			t.Fatalf("%s: p%v = %v, want %v", what, p, g, w)
		}
	}
	g, _ := got.MarshalBinary()
	w, _ := want.MarshalBinary()
	if !bytes.Equal(g, w) {
		t.Errorf("%s: encodings differ", what)
	}
}

// TestRollUpsAreMerges runs a day of a fleet whose size and values vary by
// window, and checks that each hour is the merge of its twelve stored
// 5-minute summaries and the day the merge of its 24 hours: same counts,
// same percentiles, same encoding. It also checks that Series answers
// from those very sketches.
func TestRollUpsAreMerges(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	day0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for w := day0; w.Before(day0.Add(24 * time.Hour)); w = w.Add(5 * time.Minute) {
		devices := 20 + rng.IntN(200)
		for d := range devices {
			for range 1 + rng.IntN(3) { // counters: several reports per window
				a.Add("prof", "bytes", fmt.Sprint("dev-", d), w.Add(time.Duration(rng.IntN(300))*time.Second), rng.ExpFloat64()*1e4, true)
			}
		}
		if err := a.Tick(w.Add(5*time.Minute + DefaultGrace)); err != nil {
			t.Fatal(err)
		}
	}
	s := series{"prof", "bytes"}
	start := day0.Unix()
	for h := start; h < start+Period1d.Seconds(); h += hour {
		devices, want, n := mergeStored(t, db, s, Period5m, h, h+hour)
		gotDevices, got, ok := stored(t, db, s, Period1h, h)
		if !ok || n != 12 {
			t.Fatalf("hour %d: stored %v, %d windows", h, ok, n)
		}
		if gotDevices != devices {
			t.Errorf("hour %d: devices %d, want %d", h, gotDevices, devices)
		}
		sameSketch(t, fmt.Sprint("hour ", h), got, want)
	}
	devices, want, n := mergeStored(t, db, s, Period1h, start, start+Period1d.Seconds())
	gotDevices, got, ok := stored(t, db, s, Period1d, start)
	if !ok || n != 24 || gotDevices != devices {
		t.Fatalf("day: stored %v, %d hours, devices %d, want %d", ok, n, gotDevices, devices)
	}
	sameSketch(t, "day", got, want)

	pts, _, err := a.Series("prof", "bytes", day0, day0.Add(24*time.Hour), Period1d, percentile.Statistics, "", 0)
	if err != nil || len(pts) != 1 {
		t.Fatalf("series: %v, %+v", err, pts)
	}
	for _, name := range percentile.Statistics {
		p, _ := percentile.ParseStatistic(name)
		if pts[0].Values[name] != want.Quantile(p) {
			t.Errorf("series %s = %v, want %v", name, pts[0].Values[name], want.Quantile(p))
		}
	}
}

func TestKeys(t *testing.T) {
	s := series{"prof", "aws:all-bytes-out"}
	for _, p := range Periods {
		k := s.key(p, 1_700_000_100)
		got, start, ok := parseKey(k)
		if !ok || got != s || start != 1_700_000_100 {
			t.Errorf("%s: parsed %v %d %v", p, got, start, ok)
		}
		if bytes.Compare(s.key(p, 299), s.key(p, 300)) >= 0 || bytes.Compare(s.key(p, 300), s.key(p, 1<<40)) >= 0 {
			t.Errorf("%s: keys are not in time order", p)
		}
	}
	for _, k := range [][]byte{closedKey, rolledKey, []byte("f/x"), []byte("f/p\x00m\x00h1234567")} {
		if _, _, ok := parseKey(k); ok {
			t.Errorf("%q parsed as a summary key", k)
		}
	}
}

// TestUndecodableSummary pins what a damaged summary does: the hour merges
// the others and Tick reports it once the hour is stored; Series, which
// cannot answer for it, fails.
func TestUndecodableSummary(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h0 := time.Date(2024, 3, 1, 5, 0, 0, 0, time.UTC)
	for i := range 12 {
		a.Add("prof", "m", "d", h0.Add(time.Duration(i)*5*time.Minute), float64(i), false)
	}
	if err := a.Tick(h0.Add(55 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	b.SetRaw(series{"prof", "m"}.key(Period5m, h0.Unix()), []byte{summaryVersion, 1, 0xff})
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := a.Tick(h0.Add(time.Hour + DefaultGrace)); err == nil {
		t.Error("Tick did not report the damaged summary")
	}
	if _, sk, ok := stored(t, db, series{"prof", "m"}, Period1h, h0.Unix()); !ok || sk.Count() != 11 || sk.Quantile(0) != 1 {
		t.Errorf("hour not merged from the 11 others: %v", ok)
	}
	if _, _, err := a.Series("prof", "m", h0, h0.Add(time.Hour), Period5m, nil, "", 0); err == nil {
		t.Error("Series read a damaged summary without error")
	}
}
