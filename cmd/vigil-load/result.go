package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// result is the outcome of one case.
type result struct {
	Case        string  `json:"case"`
	Devices     int     `json:"devices"`
	Violators   int     `json:"violators"`
	OfferedRate float64 `json:"offeredRate,omitempty"`
	Intervals   int     `json:"intervals"`
	Published   int64   `json:"published"`
	Failed      int64   `json:"failed"`
	Delivered   int64   `json:"delivered"`
	Lost        int64   `json:"lost"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"reportsPerSecond"`
	// Events counts the violation events matched to a report;
	// EventsExpected is one per violating or clearing report published;
	// Unmatched counts the events of no report of this run.
	Events         int64        `json:"events,omitempty"`
	EventsExpected int64        `json:"eventsExpected,omitempty"`
	Unmatched      int64        `json:"unmatchedEvents,omitempty"`
	P50ms          float64      `json:"p50ms,omitempty"`
	P99ms          float64      `json:"p99ms,omitempty"`
	Processes      []procResult `json:"processes"`
	DriverCPU      float64      `json:"driverCpuPercent"`
	Samples        []sample     `json:"samples,omitempty"`
	Error          string       `json:"error,omitempty"`
}

// procResult is what one measured process used.
type procResult struct {
	Name       string  `json:"name"`
	CPUPercent float64 `json:"cpuPercent"`
	PeakRSS    int64   `json:"peakRssBytes"`
}

// addCPU records the CPU of each process, and of the driver last, over
// wall, and the processes' peak RSS.
func (r *result) addCPU(ps []process, before, after []time.Duration, wall time.Duration) {
	pct := func(n int) float64 { return 100 * float64(after[n]-before[n]) / float64(wall) }
	for n, p := range ps {
		rss, _ := peakRSS(p.PID) // a process gone by now shows 0
		r.Processes = append(r.Processes, procResult{Name: p.Name, CPUPercent: pct(n), PeakRSS: rss})
	}
	r.DriverCPU = pct(len(ps))
}

// addLatency waits a moment for the last events, then records them.
func (r *result) addLatency(l *latencies) {
	r.EventsExpected, _ = l.counts()
	deadline := time.Now().Add(eventGrace)
	for l.events() < r.EventsExpected && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r.Events = l.events()
	_, r.Unmatched = l.counts()
	r.P50ms = ms(l.quantile(0.50))
	r.P99ms = ms(l.quantile(0.99))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r result) summary() string {
	return fmt.Sprintf("%s: %d published, %d delivered, %.0f reports/s, %d events, p50 %.1f ms, p99 %.1f ms",
		r.Case, r.Published, r.Delivered, r.PerSecond, r.Events, r.P50ms, r.P99ms)
}

func writeResult(path string, r result) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func readResult(path string) (result, error) {
	var r result
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// printTable prints the results as a Markdown table, then the rate of
// every case relative to the base case.
func printTable(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	base := fs.String("base", "mosquitto", "case the others' rates are compared with")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("table: give result files")
	}
	var rs []result
	for _, path := range fs.Args() {
		r, err := readResult(path)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	fmt.Fprintln(w, "| case | devices | reports/s | published | delivered | lost | events | p50 ms | p99 ms | CPU % of one core | peak RSS MiB | driver CPU % |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |")
	for _, r := range rs {
		fmt.Fprintln(w, r.row())
	}
	if err := printRatios(w, rs, *base); err != nil {
		return err
	}
	for _, r := range rs {
		printSamples(w, r)
	}
	return nil
}

func (r result) row() string {
	var cpu, rss []string
	for _, p := range r.Processes {
		cpu = append(cpu, fmt.Sprintf("%s %.0f", p.Name, p.CPUPercent))
		rss = append(rss, fmt.Sprintf("%s %.0f", p.Name, float64(p.PeakRSS)/(1<<20)))
	}
	events, p50, p99 := "—", "—", "—"
	if r.EventsExpected > 0 {
		events = fmt.Sprintf("%d / %d", r.Events, r.EventsExpected)
		p50, p99 = fmt.Sprintf("%.1f", r.P50ms), fmt.Sprintf("%.1f", r.P99ms)
	}
	return fmt.Sprintf("| %s | %d | %.0f | %d | %d | %d | %s | %s | %s | %s | %s | %.0f |",
		r.Case, r.Devices, r.PerSecond, r.Published, r.Delivered, r.Lost, events, p50, p99,
		strings.Join(cpu, ", "), strings.Join(rss, ", "), r.DriverCPU)
}

func printRatios(w io.Writer, rs []result, base string) error {
	var b *result
	for n := range rs {
		if rs[n].Case == base {
			b = &rs[n]
		}
	}
	if b == nil || b.PerSecond == 0 {
		return nil
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		if r.Case != base {
			fmt.Fprintf(w, "%s / %s: %.2f\n", r.Case, base, r.PerSecond/b.PerSecond)
		}
	}
	return nil
}
