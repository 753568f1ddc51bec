package dashboard_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/dashboard"
	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/sim"
)

// The fleet of the page benchmarks: 10,000 devices, 14 days of 5-minute
// windows of bytes out.
const (
	benchDevices = 10_000
	benchDays    = 14
	benchWindows = benchDays * 288
	benchProfile = "scanners-14d"
)

var (
	bigOnce   sync.Once
	bigServer *httptest.Server
	bigErr    error
)

// nopPublisher drops the detector's messages: the benchmarks read only
// the fleet statistics.
type nopPublisher struct{}

func (nopPublisher) Publish(string, []byte, bool, byte) error { return nil }

// bigFleet serves the API and the dashboard over fleet statistics of
// 10,000 devices for 14 days: every device's bytes out in every 5-minute
// window, following the scanners' daily curve with noise, summarised by
// the real aggregator in a real store. Built once per process (about a
// minute on the reference machine).
func bigFleet(b *testing.B) *httptest.Server {
	bigOnce.Do(func() { bigServer, bigErr = buildBigFleet(b.TempDir()) })
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigServer
}

func buildBigFleet(dir string) (*httptest.Server, error) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(benchWindows * 5 * time.Minute)
	db, err := store.Open(dir, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		return nil, err
	}
	reg, err := registry.Load(db)
	if err != nil {
		return nil, err
	}
	agg, err := fleetstats.New(db, fleetstats.Options{Retention: 15 * 24 * time.Hour, Logger: zerolog.Nop()})
	if err != nil {
		return nil, err
	}
	svc, err := service.New(service.Options{DB: db, Registry: reg, Publisher: nopPublisher{}, FleetStats: agg, Logger: zerolog.Nop(),
		Now: func() time.Time { return end.Add(time.Minute) }})
	if err != nil {
		return nil, err
	}
	var p registry.Profile
	if err := json.Unmarshal([]byte(`{"securityProfileName":"`+benchProfile+`","behaviors":[
		{"name":"bytes-out-ceiling","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","value":{"count":17500},"durationSeconds":300}},
		{"name":"bytes-out-vs-fleet","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p90","factor":3},"durationSeconds":300}}]}`), &p); err != nil {
		return nil, err
	}
	if _, err := svc.CreateProfile(p); err != nil {
		return nil, err
	}
	names := make([]string, benchDevices)
	for i := range names {
		names[i] = "scanner-" + strconv.Itoa(i)
	}
	for w := range benchWindows {
		t := start.Add(time.Duration(w) * 5 * time.Minute)
		mean := sim.DailyCurve(float64(t.Add(time.Hour).Hour()) + float64(t.Minute())/60)
		var wg sync.WaitGroup
		for part := range 2 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), uint64(part)))
				for i := part; i < benchDevices; i += 2 {
					v := math.Round(mean * (0.7 + 0.6*r.Float64()))
					agg.Add(benchProfile, "aws:all-bytes-out", names[i], t.Add(time.Duration(i%300)*time.Second), v, true)
				}
			})
		}
		wg.Wait()
		if err := agg.Tick(t.Add(5*time.Minute + fleetstats.DefaultGrace)); err != nil {
			return nil, err
		}
	}
	h := api.New(api.Options{Service: svc, FleetStats: agg, Feed: api.NewViolationFeed(), Extra: dashboard.New(), Logger: zerolog.Nop()})
	return httptest.NewServer(h), nil
}

// BenchmarkMetricStatistics14d reads what the profile page reads for one
// metric over 14 days: 4,032 windows of six statistics of 10,000 devices,
// in 17 calls of 250 windows made in parallel, as the page makes them.
func BenchmarkMetricStatistics14d(b *testing.B) {
	srv := bigFleet(b)
	end := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	start := end.Add(-benchDays * 24 * time.Hour)
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		var mu sync.Mutex
		points := 0
		for s := start; s.Before(end); s = s.Add(250 * 5 * time.Minute) {
			e := s.Add(250 * 5 * time.Minute)
			if e.After(end) {
				e = end
			}
			url := fmt.Sprintf("%s/api/metric-statistics?securityProfileName=%s&metricName=aws:all-bytes-out&period=300&statistics=p0,p10,p50,p90,p99,p100&startTime=%d&endTime=%d&maxResults=250",
				srv.URL, benchProfile, s.Unix(), e.Unix())
			wg.Go(func() {
				resp, err := http.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				defer resp.Body.Close()
				var out struct {
					MetricStatistics []json.RawMessage `json:"metricStatistics"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
					b.Error(err)
				}
				mu.Lock()
				points += len(out.MetricStatistics)
				mu.Unlock()
			})
		}
		wg.Wait()
		if points != benchWindows {
			b.Fatalf("read %d windows, want %d", points, benchWindows)
		}
	}
}

// BenchmarkProfilePage14d loads the profile page in headless Chromium over
// that fleet, 14 days shown, and reports the time from the navigation to
// the drawn chart (load-ms: the API calls and the drawing), and the
// drawing alone (draw-ms).
func BenchmarkProfilePage14d(b *testing.B) {
	srv := bigFleet(b)
	br := newBrowser(b)
	var load, draw float64
	b.ResetTimer()
	for b.Loop() {
		if err := chromedp.Do(br.ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(srv.URL+"/#/profile/"+benchProfile)); err != nil {
			b.Fatal(err)
		}
		if err := waitJS(br.ctx, `document.querySelector("main > div[data-ready=true]") !== null`, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		got, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`(() => { const v = document.querySelector("main > div"); return [v.dataset.readyAt, v.dataset.drawMs,
			String(document.querySelectorAll('[data-metric="aws:all-bytes-out"] path.band').length)] })()`))
		if err != nil {
			b.Fatal(err)
		}
		if got[2] != "5" {
			b.Fatalf("%s bands drawn, want 5", got[2])
		}
		ready, _ := strconv.ParseFloat(got[0], 64)
		drawn, _ := strconv.ParseFloat(got[1], 64)
		load += ready
		draw += drawn
	}
	b.ReportMetric(load/float64(b.N), "load-ms")
	b.ReportMetric(draw/float64(b.N), "draw-ms")
}
