package history

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector"
)

// fleet simulates devices reporting every 5 minutes: each thing has its
// own phase in the interval and a receive-time jitter of up to ±250 ms, and
// ten numeric metrics with values like those of a small Linux device.
type fleet struct {
	things  []string
	metrics []string
	rng     *rand.Rand
	phase   []time.Duration
	last    [][]float64 // per thing and metric: the last value, for slow-moving gauges
}

var fleetMetrics = []string{
	detector.MetricBytesIn, detector.MetricBytesOut, detector.MetricPacketsIn, detector.MetricPacketsOut,
	detector.MetricNumListeningTCP, detector.MetricNumListeningUDP, detector.MetricNumEstablishedTCP,
	detector.MetricMessagesSent, detector.MetricAuthorizationFailures, "cpu-temperature",
}

func newFleet(n int) *fleet {
	f := &fleet{metrics: fleetMetrics, rng: rand.New(rand.NewPCG(1, 2))}
	for i := range n {
		f.things = append(f.things, fmt.Sprintf("scanner-%05d", i))
		f.phase = append(f.phase, time.Duration(i)*5*time.Minute/time.Duration(n))
		f.last = append(f.last, []float64{0, 0, 0, 0, 4, 2, 3, 1, 0, 45.0})
	}
	return f
}

// report returns the receive time and values of thing i's report of round r.
func (f *fleet) report(i, r int, values []detector.Value) time.Time {
	t := day0.Add(time.Duration(r)*5*time.Minute + f.phase[i] + time.Duration(f.rng.IntN(500)-250)*time.Millisecond)
	last := f.last[i]
	noisy := func(mean float64) float64 { return math.Round(mean * (0.7 + 0.6*f.rng.Float64())) }
	last[0], last[1] = noisy(40_000), noisy(15_000)
	last[2], last[3] = noisy(300), noisy(150)
	if f.rng.IntN(100) == 0 { // a port opens or closes now and then
		last[4] = 4 + float64(f.rng.IntN(2))
	}
	last[6] = float64(2 + f.rng.IntN(5))
	last[7] = float64(1 + f.rng.IntN(20)/19)
	last[8] = float64(f.rng.IntN(50) / 49)
	last[9] = math.Round((last[9]+f.rng.Float64()-0.5)*10) / 10 // a temperature to 0.1 °C
	for m := range values {
		kind := detector.KindCount
		if m == 9 {
			kind = detector.KindNumber
		}
		values[m] = detector.Value{Kind: kind, Number: last[m]}
	}
	return t
}

// BenchmarkAppend measures the ingest rate of appends and flushes, for
// 10,000 things of 10 metrics each reporting every 5 minutes. A flush every
// 20,000 points writes each point's block again for that point alone: the
// cost of a fleet whose flush interval is shorter than its report
// interval, the worst case.
func BenchmarkAppend(b *testing.B) {
	h, _ := newHistory(b, Options{})
	f := newFleet(10_000)
	values := make([]detector.Value, len(f.metrics))
	var at time.Time
	b.ResetTimer()
	for i := range b.N {
		j := i % len(f.metrics)
		thing := i / len(f.metrics) % len(f.things)
		if j == 0 {
			at = f.report(thing, i/len(f.metrics)/len(f.things), values)
		}
		h.Append(f.things[thing], f.metrics[j], at, values[j])
		if i%20_000 == 19_999 {
			mustFlush(b, h)
		}
	}
	mustFlush(b, h)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkAppendParallel measures appends from as many goroutines as
// GOMAXPROCS, each starting at its own thing, each flushing every 20,000
// points.
func BenchmarkAppendParallel(b *testing.B) {
	h, _ := newHistory(b, Options{})
	f := newFleet(10_000)
	next := make(chan int, 64)
	for i := range 64 {
		next <- i
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := <-next
		n := 0
		for pb.Next() {
			thing := (g*997 + n/len(f.metrics)) % len(f.things)
			at := day0.Add(time.Duration(n/len(f.metrics)/len(f.things))*5*time.Minute + f.phase[thing])
			h.Append(f.things[thing], f.metrics[n%len(f.metrics)], at, count(float64(n%1000)))
			if n++; n%20_000 == 0 {
				mustFlush(b, h)
			}
		}
	})
	mustFlush(b, h)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkBytesPerPoint writes one day of 1,000 things × 10 metrics at
// 5-minute intervals (2.88 million points), flushing every simulated
// minute, then compacts, closes the store and reports the bytes per point:
// in the tables (bytes/point) and in all the store's files
// (disk-bytes/point), which include the write-ahead log files (wal-MB: a
// fixed overhead, not a cost per point).
func BenchmarkBytesPerPoint(b *testing.B) {
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		db := openStore(b, dir)
		h := New(db, Options{})
		f := newFleet(1000)
		values := make([]detector.Value, len(f.metrics))
		const rounds = 288
		b.StartTimer()
		start := time.Now()
		minute := int64(-1)
		for r := range rounds {
			for i := range f.things {
				at := f.report(i, r, values)
				if m := at.Unix() / 60; m != minute {
					mustFlush(b, h)
					minute = m
				}
				for j, metric := range f.metrics {
					h.Append(f.things[i], metric, at, values[j])
				}
			}
		}
		mustFlush(b, h)
		ingest := time.Since(start)
		b.StopTimer()
		if err := db.Compact([]byte(keyPrefix), []byte(keyPrefix+"\xff\xff")); err != nil {
			b.Fatal(err)
		}
		points := float64(rounds * len(f.things) * len(f.metrics))
		b.ReportMetric(points/ingest.Seconds(), "points/s")
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fileBytes(b, dir, ".sst"))/points, "bytes/point")
		b.ReportMetric(float64(fileBytes(b, dir, ""))/points, "disk-bytes/point")
		b.ReportMetric(float64(fileBytes(b, dir, ".log"))/1e6, "wal-MB")
	}
}

// fileBytes sums the sizes of the files of a directory with a suffix.
func fileBytes(b *testing.B, dir, suffix string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), suffix) {
			n += info.Size()
		}
	}
	return n
}

// BenchmarkExpire1M measures a retention pass, its compaction included,
// that deletes one million points (1,000 things × 10 metrics × 100 points
// over two days), with a newer day left in place; it reports the store's
// disk usage before and after.
func BenchmarkExpire1M(b *testing.B) {
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		db := openStore(b, dir)
		h := New(db, Options{})
		f := newFleet(1000)
		values := make([]detector.Value, len(f.metrics))
		for r := range 100 { // every 28.8 minutes over two days
			for i := range f.things {
				at := f.report(i, 0, values).Add(time.Duration(r) * 2 * 24 * time.Hour / 100)
				for j, metric := range f.metrics {
					h.Append(f.things[i], metric, at, values[j])
				}
			}
			mustFlush(b, h)
		}
		newer := day0.AddDate(0, 0, 20)
		for i := range f.things {
			h.Append(f.things[i], f.metrics[0], newer, count(1))
		}
		mustFlush(b, h)
		if err := db.Compact([]byte(keyPrefix), []byte(keyPrefix+"\xff\xff")); err != nil {
			b.Fatal(err)
		}
		before := db.SizeBytes()
		b.StartTimer()
		if err := h.Expire(day0.AddDate(0, 0, 16)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(before)/1e6, "MB-before")
		b.ReportMetric(float64(db.SizeBytes())/1e6, "MB-after")
		if pts, _, err := h.Values(f.things[0], f.metrics[0], day0, newer.Add(time.Hour), "", 0); err != nil || len(pts) != 1 {
			b.Fatalf("after expiry: %d points, %v", len(pts), err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
