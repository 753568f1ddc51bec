package fleetstats_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/fleetstats"
)

// thingNames are the names of a 100,000-device fleet.
var thingNames = func() []string {
	out := make([]string, 100_000)
	for i := range out {
		out[i] = fmt.Sprintf("scanner-%06d", i)
	}
	return out
}()

// BenchmarkAdd measures one datapoint, the fleet's devices taking turns in
// one window.
func BenchmarkAdd(b *testing.B) {
	a := newAggregator(b, fleetstats.Options{})
	i := 0
	for b.Loop() {
		a.Add("prof", "aws:all-bytes-out", thingNames[i%len(thingNames)], t0.Add(time.Duration(i%300)*time.Second), 1500, true)
		i++
	}
}

// BenchmarkAddParallel measures Add from every CPU at once.
func BenchmarkAddParallel(b *testing.B) {
	a := newAggregator(b, fleetstats.Options{})
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a.Add("prof", "aws:all-bytes-out", thingNames[i%len(thingNames)], t0.Add(time.Duration(i%300)*time.Second), 1500, true)
			i += 7
		}
	})
}

// BenchmarkTick100k measures the Tick that closes a window of 100,000
// devices: the sketch, its storage, and every twelfth time the hour's
// roll-up.
func BenchmarkTick100k(b *testing.B) {
	a := newAggregator(b, fleetstats.Options{})
	w := t0
	for b.Loop() {
		b.StopTimer()
		for i, name := range thingNames {
			a.Add("prof", "aws:all-bytes-out", name, w, float64(i*37%100_003), true)
		}
		w = w.Add(5 * time.Minute)
		b.StartTimer()
		if err := a.Tick(w.Add(fleetstats.DefaultGrace)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeldMemory measures the heap an open window's device value
// takes, reported as B/value.
func BenchmarkHeldMemory(b *testing.B) {
	for b.Loop() {
		a := newAggregator(b, fleetstats.Options{})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for m := range 10 {
			metric := fmt.Sprint("metric-", m)
			for _, name := range thingNames {
				a.Add("prof", metric, name, t0, 1, false)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(a.Stats().Held), "B/value")
		runtime.KeepAlive(a)
	}
}
