package main

import (
	"strings"
	"testing"
)

func TestPrintSamples(t *testing.T) {
	r := result{Case: "serve", Processes: []procResult{{Name: "vigil"}}}
	// A sawtooth around 100 MiB in the second quarter and 110 MiB in the last.
	for i := range 8 {
		rss := int64(100 << 20)
		if i >= 6 {
			rss = 110 << 20
		}
		if i%2 == 1 {
			rss += 10 << 20
		}
		r.Samples = append(r.Samples, sample{Seconds: float64(60 * (i + 1)), Published: int64(i), Delivered: int64(i),
			RSS: []int64{rss}, HeapInuse: rss / 2})
	}
	var out strings.Builder
	printSamples(&out, r)
	for _, want := range []string{
		"| 60 | 0 | 0 | 100.0 | 50.0 |",
		"vigil RSS, mean (peak): 105.0 (110.0) MiB over 180–240 s; 115.0 (120.0) MiB over 420–480 s",
		"heap in use, mean (peak): 52.5 (55.0) MiB over 180–240 s; 57.5 (60.0) MiB over 420–480 s",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%s", want, out.String())
		}
	}
	out.Reset()
	printSamples(&out, result{Case: "serve"})
	if out.Len() != 0 {
		t.Errorf("printed %q for a run without samples", out.String())
	}
}

func TestValidate(t *testing.T) {
	ok := config{Case: "serve", Broker: "mqtt://127.0.0.1:1883", Metrics: "http://127.0.0.1:8080/metrics", Devices: 10,
		Duration: 1, Connections: 1, Window: 1, Workers: 1, MaxOutstanding: 1}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for name, tweak := range map[string]func(*config){
		"no case":            func(c *config) { c.Case = "" },
		"two counters":       func(c *config) { c.CountSubscriber = true },
		"negative intervals": func(c *config) { c.Intervals = -1 },
		"negative sample":    func(c *config) { c.Sample = -1 },
		"no devices":         func(c *config) { c.Devices = 0 },
	} {
		c := ok
		tweak(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
