package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// Publisher sends the simulator's reports. Publish may block to hold the
// simulator back (flow control) and is called from several goroutines at
// once; the reports of one thing come from one goroutine at a time, in
// report id order, and must reach the broker in that order. Flush returns
// once everything published so far is delivered, or why it is not.
type Publisher interface {
	Publish(topic string, payload []byte) error
	Flush() error
}

// Counter is a Publisher that counts what became of its messages. Run's
// progress lines show the counts of a publisher that is one.
type Counter interface {
	Counts() Counts
}

// Counts is what became of a publisher's messages.
type Counts struct {
	// Published messages were handed to the connection.
	Published int64
	// Acknowledged messages were confirmed by the broker (PUBACK).
	Acknowledged int64
	// Failed messages were not confirmed: the connection failed them.
	Failed int64
	// Accepted and Rejected count the replies of the server to reports.
	Accepted int64
	Rejected int64
}

// Stats is what Run has done so far.
type Stats struct {
	// Reports is the number of reports handed to the publisher.
	Reports int64
	// Late is the number of those that were kept during an outage burst
	// and sent after it.
	Late int64
	// Held is the number of intervals in which a thing sent nothing,
	// offline or kept back by an outage burst.
	Held int64
	// SimTime is the time of the latest report handed to the publisher.
	SimTime time.Time
}

type runStats struct {
	reports, late, held atomic.Int64
	simMs               atomic.Int64
}

// Stats returns what Run has done so far; it is safe to call while Run
// runs.
func (f *Fleet) Stats() Stats {
	s := &f.stats
	st := Stats{Reports: s.reports.Load(), Late: s.late.Load(), Held: s.held.Load()}
	if ms := s.simMs.Load(); ms != 0 {
		st.SimTime = time.UnixMilli(ms).UTC()
	}
	return st
}

// Run publishes the fleet's reports from Options.Start, interval after
// interval, until Options.Duration has passed in simulated time or ctx
// ends, and writes the ground truth as it goes. The replayed span goes as
// fast as pub takes it; after it, reports go out when the simulated clock,
// running Speed times faster than the wall clock, reaches their time. Run
// flushes pub before it returns, and returns ctx's error if ctx ended it.
func (f *Fleet) Run(ctx context.Context, pub Publisher) error {
	r := &run{Fleet: f, pub: pub, order: f.phaseOrder(), liveFrom: f.opts.Start.Add(f.opts.Replay), lastDay: noDay}
	stop := r.progress()
	err := r.loop(ctx)
	if ferr := pub.Flush(); ferr != nil {
		err = errors.Join(err, fmt.Errorf("flush: %w", ferr))
	}
	stop()
	return err
}

// run is one call of Run.
type run struct {
	*Fleet
	pub Publisher
	// order lists the things by phase: the order they report in.
	order []int
	// liveFrom is the simulated time from which reports are paced; wall0
	// is the wall time the pacing started, set once by anchor.
	liveFrom time.Time
	anchor   sync.Once
	wall0    time.Time
	// lastDay is the day whose ground truth was written last.
	lastDay int64
}

// noDay is lastDay before the first day.
const noDay = math.MinInt64

func (f *Fleet) phaseOrder() []int {
	order := make([]int, len(f.things))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(f.things[a].phase, f.things[b].phase) })
	return order
}

func (r *run) loop(ctx context.Context) error {
	end := r.End()
	for k := r.slotOf(r.opts.Start); end.IsZero() || r.slotStart(k).Before(end); k++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.writeTruth(r.slotStart(k)); err != nil {
			return err
		}
		if err := r.slot(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// slot sends the reports of interval k, the things split among the
// workers.
func (r *run) slot(ctx context.Context, k int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for w := range min(r.opts.Workers, len(r.order)) {
		wg.Go(func() {
			for n := w; n < len(r.order) && ctx.Err() == nil; n += r.opts.Workers {
				if err := r.thing(ctx, r.order[n], k); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// thing sends the reports thing i sends in interval k.
func (r *run) thing(ctx context.Context, i int, k int64) error {
	reports := r.ReportsAt(i, r.slotStart(k))
	if len(reports) == 0 {
		r.stats.held.Add(1)
		return nil
	}
	for n, rep := range reports {
		t := time.UnixMilli(rep.Header.ReportID)
		if t.Before(r.opts.Start) || !r.End().IsZero() && !t.Before(r.End()) {
			continue
		}
		if err := r.pace(ctx, t); err != nil {
			return err
		}
		if err := r.send(i, rep); err != nil {
			return err
		}
		if n < len(reports)-1 {
			r.stats.late.Add(1)
		}
	}
	return nil
}

func (r *run) send(i int, rep *proto.Report) error {
	payload, err := proto.Encode(rep, r.opts.Format, proto.LongKeys)
	if err != nil {
		return fmt.Errorf("encode report of %s: %w", r.things[i].Name, err)
	}
	if err := r.pub.Publish(r.things[i].topic, payload); err != nil {
		return fmt.Errorf("publish report of %s: %w", r.things[i].Name, err)
	}
	r.stats.reports.Add(1)
	for {
		last := r.stats.simMs.Load()
		if rep.Header.ReportID <= last || r.stats.simMs.CompareAndSwap(last, rep.Header.ReportID) {
			return nil
		}
	}
}

// pace waits until the wall clock reaches simulated time t. Replayed
// times do not wait; the simulated clock starts at the end of the replay
// when the first report after it is due.
func (r *run) pace(ctx context.Context, t time.Time) error {
	if t.Before(r.liveFrom) {
		return nil
	}
	r.anchor.Do(func() { r.wall0 = r.opts.Now() })
	due := r.wall0.Add(time.Duration(float64(t.Sub(r.liveFrom)) / r.opts.Speed))
	wait := due.Sub(r.opts.Now())
	if wait < time.Millisecond {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}

// writeTruth writes the events of the day that begins at or holds t,
// within the run, when the run first reaches that day: on the first day,
// every event that overlaps the run; later, those that start that day.
func (r *run) writeTruth(t time.Time) error {
	d := dayOf(t)
	if r.opts.Truth == nil || d == r.lastDay {
		return nil
	}
	first := r.lastDay == noDay
	r.lastDay = d
	from, to := dayStart(d), dayStart(d+1)
	if first {
		from = r.opts.Start
	}
	if end := r.End(); !end.IsZero() && end.Before(to) {
		to = end
	}
	events := r.Incidents(from, to)
	if !first {
		events = slices.DeleteFunc(events, func(in Incident) bool { return in.Start.Before(from) })
	}
	return WriteTruth(r.opts.Truth, events)
}

// progress logs a line every ProgressInterval until the returned function
// is called.
func (r *run) progress() (stop func()) {
	every := r.opts.ProgressInterval
	if every < 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		last, lastAt := int64(0), r.opts.Now()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				last, lastAt = r.logProgress(last, lastAt)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// logProgress logs the simulated time, the rate since the previous line
// and the totals, and returns the count and time it measured from.
func (r *run) logProgress(last int64, lastAt time.Time) (int64, time.Time) {
	st, now := r.Stats(), r.opts.Now()
	rate := float64(st.Reports-last) / now.Sub(lastAt).Seconds()
	ev := r.opts.Logger.Info().Str("sim_time", st.SimTime.Format(time.RFC3339)).Int("reports_per_s", int(rate)).
		Int64("reports", st.Reports).Int64("late", st.Late)
	if c, ok := r.pub.(Counter); ok {
		n := c.Counts()
		ev = ev.Int64("acked", n.Acknowledged).Int64("failed", n.Failed).Int64("accepted", n.Accepted).Int64("rejected", n.Rejected)
	}
	ev.Msg("simulating")
	return st.Reports, now
}
