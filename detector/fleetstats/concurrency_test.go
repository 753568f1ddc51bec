package fleetstats_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/fleetstats"
)

// TestConcurrentUse runs writers, a ticker, readers and a forgetter at once
// (under -race in CI). Each (thing, window) gets exactly one datapoint, so
// every datapoint must end up either in a stored window or counted late:
// none lost, none counted twice.
func TestConcurrentUse(t *testing.T) {
	const writers, things, windows = 8, 40, 60
	a := newAggregator(t, fleetstats.Options{})
	future := t0.Add(100 * 24 * time.Hour)
	var progress atomic.Int64 // the latest window a writer reached
	var wg, bg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range windows {
				progress.Store(max(progress.Load(), int64(i)))
				for th := range things {
					at := t0.Add(time.Duration(i)*min5 + time.Duration(th)*time.Second)
					a.Add("prof", "m", fmt.Sprint("w", w, "-", th), at, float64(th), false)
					a.Add("other", "m", "x", future, 1, true) // never closed here: never late
				}
			}
		})
	}
	done := make(chan struct{})
	bg.Go(func() { // the ticker trails the writers, so some datapoints are late
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := a.Tick(t0.Add(time.Duration(progress.Load()) * min5)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	bg.Go(func() { // readers and a forgetter
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, _, err := a.Series("prof", "m", t0, t0.Add(24*time.Hour), fleetstats.Period5m, nil, "", 10); err != nil {
				t.Error(err)
			}
			_ = a.Stats()
			if err := a.Forget("other"); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	close(done)
	bg.Wait()
	tick(t, a, t0.Add(24*time.Hour))

	var stored uint64
	for _, p := range all(t, a, "prof", "m", t0, t0.Add(24*time.Hour), fleetstats.Period5m) {
		stored += p.Devices
	}
	st := a.Stats()
	if total := uint64(writers * things * windows); stored+st.Late != total || st.Held > 1 {
		t.Errorf("stored %d + late %d, want %d in all (held %d)", stored, st.Late, total, st.Held)
	}
	if stored == 0 {
		t.Error("nothing stored")
	}
}
