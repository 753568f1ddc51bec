package sim_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// recorder is a Publisher that keeps every message, and can be told to
// fail.
type recorder struct {
	mu      sync.Mutex
	topics  []string
	reports []*proto.Report
	flushes int
	failAt  int // fail the publish of this number (1-based); 0 never
}

var _ sim.Publisher = (*recorder)(nil)

var errRefused = errors.New("refused")

func (r *recorder) Publish(topic string, payload []byte) error {
	t, err := proto.ParseReportTopic(topic)
	if err != nil {
		return err
	}
	rep, err := proto.Decode(t.Format, payload)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAt > 0 && len(r.reports)+1 == r.failAt {
		return errRefused
	}
	r.topics = append(r.topics, topic)
	r.reports = append(r.reports, rep)
	return nil
}

func (r *recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes++
	return nil
}

// byThing returns the report ids published per thing, in publishing order.
func (r *recorder) byThing(t *testing.T) map[string][]int64 {
	out := map[string][]int64{}
	for n, topic := range r.topics {
		rt, err := proto.ParseReportTopic(topic)
		if err != nil {
			t.Fatal(err)
		}
		out[rt.Thing] = append(out[rt.Thing], r.reports[n].Header.ReportID)
	}
	return out
}

// TestRunReplay replays a day as fast as possible: every report the model
// sends in the span is published once, in order per thing, and the ground
// truth lists the events of the span.
func TestRunReplay(t *testing.T) {
	var truth bytes.Buffer
	o := sim.Options{Devices: 40, ScannersPerFactory: 8, Seed: 4, IncidentRate: 100, Start: t0.Add(90 * time.Minute),
		Replay: 24 * time.Hour, Duration: 24 * time.Hour, Format: proto.CBOR, Truth: &truth, ProgressInterval: -1}
	f := newFleet(t, o)
	rec := &recorder{}
	if err := f.Run(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	want := map[string][]*proto.Report{}
	for k := range 289 {
		at := o.Start.Truncate(sim.DefaultInterval).Add(time.Duration(k) * sim.DefaultInterval)
		for i, th := range f.Things() {
			for _, r := range f.ReportsAt(i, at) {
				if rt := time.UnixMilli(r.Header.ReportID); !rt.Before(o.Start) && rt.Before(o.Start.Add(o.Duration)) {
					want[th.Name] = append(want[th.Name], r)
				}
			}
		}
	}
	got := rec.byThing(t)
	total := 0
	for name, reports := range want {
		total += len(reports)
		if len(got[name]) != len(reports) || !increasing(got[name]) {
			t.Errorf("%s: published %d reports (increasing: %v), want %d", name, len(got[name]), increasing(got[name]), len(reports))
		}
	}
	if st := f.Stats(); st.Reports != int64(total) || len(rec.reports) != total || rec.flushes != 1 {
		t.Errorf("stats %+v, %d published, %d flushes; want %d reports and one flush", st, len(rec.reports), rec.flushes, total)
	}
	checkTruth(t, &truth, f.Incidents(o.Start, o.Start.Add(o.Duration)))
}

// checkTruth reads the ground truth and compares it with the events.
func checkTruth(t *testing.T, truth *bytes.Buffer, events []sim.Incident) {
	t.Helper()
	var got []sim.TruthRecord
	sc := bufio.NewScanner(truth)
	for sc.Scan() {
		var rec sim.TruthRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("truth line %q: %v", sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339, rec.Start); err != nil {
			t.Errorf("start %q: %v", rec.Start, err)
		}
		if rec.Incident != (rec.Kind != sim.OutageBurst) {
			t.Errorf("%s marked incident=%v", rec.Kind, rec.Incident)
		}
		got = append(got, rec)
	}
	if len(got) != len(events) || len(events) == 0 {
		t.Fatalf("%d truth lines, want %d (not 0)", len(got), len(events))
	}
	for n, in := range events {
		if got[n] != in.Truth() {
			t.Errorf("truth line %d: %+v, want %+v", n+1, got[n], in.Truth())
		}
	}
}

// TestRunPaced runs two simulated hours at 36,000 simulated seconds per
// wall second, after a replay of one: the paced part takes about 0.1 s of
// wall time, and no report goes out before its time.
func TestRunPaced(t *testing.T) {
	// At 3600x, the 12 live intervals take 1 s of wall time, 83 ms each.
	o := quiet(sim.Options{Devices: 20, Start: t0, Replay: time.Hour, Duration: 2 * time.Hour, Speed: 3600, ProgressInterval: -1})
	f := newFleet(t, o)
	rec := &paced{start: time.Now(), liveFrom: t0.Add(time.Hour), speed: o.Speed}
	if err := f.Run(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(rec.start); elapsed < 900*time.Millisecond || elapsed > 10*time.Second {
		t.Errorf("ran for %v, want about 1s", elapsed)
	}
	if rec.early > 0 {
		t.Errorf("%d reports went out before their time", rec.early)
	}
	if rec.n != 20*24 {
		t.Errorf("%d reports, want %d", rec.n, 20*24)
	}
}

// paced records how many reports were published before the simulated
// clock reached them, taking the clock's start as the first live publish.
type paced struct {
	mu           sync.Mutex
	start, wall0 time.Time
	liveFrom     time.Time
	speed        float64
	n, early     int
}

func (p *paced) Publish(topic string, payload []byte) error {
	r, err := proto.Decode(proto.JSON, payload)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	at := time.UnixMilli(r.Header.ReportID)
	if at.Before(p.liveFrom) {
		return nil
	}
	if p.wall0.IsZero() {
		// The first live report may come after the start of the live span
		// (devices report at their own phase): the clock started that much
		// earlier.
		p.wall0 = time.Now().Add(-time.Duration(float64(at.Sub(p.liveFrom)) / p.speed))
	}
	due := p.wall0.Add(time.Duration(float64(at.Sub(p.liveFrom)) / p.speed))
	// The recorder's clock is anchored at the first live report it sees,
	// which a loaded machine may deliver some milliseconds late: a quarter
	// of an interval is allowed for that. Without pacing, nearly every
	// report would be early by whole intervals.
	if time.Now().Before(due.Add(-20 * time.Millisecond)) {
		p.early++
	}
	return nil
}

func (p *paced) Flush() error { return nil }

func TestRunStopsOnError(t *testing.T) {
	f := newFleet(t, quiet(sim.Options{Devices: 10, Replay: time.Hour, Duration: time.Hour, ProgressInterval: -1}))
	rec := &recorder{failAt: 25}
	err := f.Run(context.Background(), rec)
	if !errors.Is(err, errRefused) || rec.flushes != 1 {
		t.Errorf("Run returned %v after %d flushes; want the publisher's error, flushed", err, rec.flushes)
	}
	if len(rec.reports) > 24+10 {
		t.Errorf("%d reports published after the failure", len(rec.reports)-24)
	}
}

func TestRunUntilCancelled(t *testing.T) {
	f := newFleet(t, quiet(sim.Options{Devices: 10, Speed: 3000, ProgressInterval: 10 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rec := &recorder{}
	if err := f.Run(ctx, rec); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run returned %v, want the context's error", err)
	}
	// 0.3 s at 3,000x is 15 simulated minutes: three intervals.
	if n := len(rec.reports); n < 10 || n > 40 || rec.flushes != 1 {
		t.Errorf("%d reports and %d flushes in 15 simulated minutes of 10 things", n, rec.flushes)
	}
}
