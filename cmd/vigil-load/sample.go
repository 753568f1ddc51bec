package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is the state of a long run at one moment: how far it got and how
// much memory the measured processes hold.
type sample struct {
	Seconds   float64 `json:"seconds"`
	Published int64   `json:"published"`
	Delivered int64   `json:"delivered"`
	// RSS is each measured process's resident memory (VmRSS), in bytes,
	// in the order of the processes.
	RSS []int64 `json:"rssBytes"`
	// HeapInuse is the Go heap in use of the server whose metrics are
	// read (go_memstats_heap_inuse_bytes), 0 without --metrics.
	HeapInuse int64 `json:"heapInuseBytes,omitempty"`
}

// sampler takes a sample every period until stopped.
type sampler struct {
	mu      sync.Mutex
	samples []sample
	stop    context.CancelFunc
	done    chan struct{}
}

// startSampling samples every period; published and delivered read the
// run's counts.
func startSampling(ctx context.Context, c config, start time.Time, published func() int64, count counter) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(c.Sample)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				delivered, _ := count.Delivered()
				sm := sample{Seconds: now.Sub(start).Seconds(), Published: published(), Delivered: delivered}
				for _, p := range c.Processes {
					rss, _ := currentRSS(p.PID) // a process gone shows 0
					sm.RSS = append(sm.RSS, rss)
				}
				if c.Metrics != "" {
					sm.HeapInuse, _ = scrapeGauge(ctx, c.Metrics, "go_memstats_heap_inuse_bytes")
				}
				fmt.Fprintln(os.Stderr, sm.line(c.Processes))
				s.mu.Lock()
				s.samples = append(s.samples, sm)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// finish stops sampling and returns the samples.
func (s *sampler) finish() []sample {
	s.stop()
	<-s.done
	return s.samples
}

func (sm sample) line(ps []process) string {
	var mem []string
	for n, p := range ps {
		if n < len(sm.RSS) {
			mem = append(mem, fmt.Sprintf("%s RSS %.0f MiB", p.Name, mib(sm.RSS[n])))
		}
	}
	if sm.HeapInuse > 0 {
		mem = append(mem, fmt.Sprintf("heap in use %.0f MiB", mib(sm.HeapInuse)))
	}
	return fmt.Sprintf("%7.0f s: %d published, %d delivered, %s", sm.Seconds, sm.Published, sm.Delivered, strings.Join(mem, ", "))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// currentRSS returns a process's resident memory, in bytes.
func currentRSS(pid int) (int64, error) {
	return procStatus(pid, "VmRSS:")
}

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, strings.TrimSuffix(field, ":"))
}

// scrapeGauge reads one unlabelled sample from a metrics page.
func scrapeGauge(ctx context.Context, url, name string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("%s has no %s", url, name)
}

// printSamples prints a run's samples as a Markdown table, then how the
// resident memory of each process moved after the first quarter of the
// run (the warm-up: caches and tables fill) to its end.
func printSamples(w io.Writer, r result) {
	if len(r.Samples) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s over time:\n\n", r.Case)
	head, rule := "| s | published | delivered |", "| ---: | ---: | ---: |"
	for _, p := range r.Processes {
		head += fmt.Sprintf(" %s RSS MiB |", p.Name)
		rule += " ---: |"
	}
	head += " heap in use MiB |"
	rule += " ---: |"
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	for _, sm := range r.Samples {
		row := fmt.Sprintf("| %.0f | %d | %d |", sm.Seconds, sm.Published, sm.Delivered)
		for n := range r.Processes {
			if n < len(sm.RSS) {
				row += fmt.Sprintf(" %.1f |", mib(sm.RSS[n]))
			} else {
				row += " — |"
			}
		}
		row += fmt.Sprintf(" %.1f |", mib(sm.HeapInuse))
		fmt.Fprintln(w, row)
	}
	// Memory under a garbage collector is a sawtooth: compare the mean and
	// the peak of the second quarter of the run (after the warm-up) with
	// those of the last quarter.
	fmt.Fprintln(w)
	n := len(r.Samples)
	early, late := r.Samples[n/4:n/2], r.Samples[n-n/4:]
	if len(early) == 0 || len(late) == 0 {
		return
	}
	for i, p := range r.Processes {
		rss := func(s sample) int64 {
			if i < len(s.RSS) {
				return s.RSS[i]
			}
			return 0
		}
		fmt.Fprintf(w, "%s RSS, mean (peak): %s over %s; %s over %s\n", p.Name,
			meanPeak(early, rss), span(early), meanPeak(late, rss), span(late))
	}
	heap := func(s sample) int64 { return s.HeapInuse }
	if meanPeakValue(late, heap) > 0 {
		fmt.Fprintf(w, "heap in use, mean (peak): %s over %s; %s over %s\n",
			meanPeak(early, heap), span(early), meanPeak(late, heap), span(late))
	}
}

func span(ss []sample) string {
	return fmt.Sprintf("%.0f–%.0f s", ss[0].Seconds, ss[len(ss)-1].Seconds)
}

func meanPeakValue(ss []sample, v func(sample) int64) int64 {
	var peak int64
	for _, s := range ss {
		peak = max(peak, v(s))
	}
	return peak
}

func meanPeak(ss []sample, v func(sample) int64) string {
	var sum int64
	for _, s := range ss {
		sum += v(s)
	}
	return fmt.Sprintf("%.1f (%.1f) MiB", mib(sum/int64(len(ss))), mib(meanPeakValue(ss, v)))
}
