package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/sim"
)

// quietLimit ends the wait for deliveries when none has come for this long.
const quietLimit = 5 * time.Second

// eventGrace is how long the run waits for the last violation events after
// the last delivery.
const eventGrace = 2 * time.Second

// counter is how a case counts delivered reports.
type counter interface {
	Delivered() (int64, time.Time)
	Close()
}

// measure runs one case: it connects, publishes for the duration, waits
// for the deliveries, and reads the processes' CPU and memory.
func measure(ctx context.Context, c config) (result, error) {
	s, err := newStream(c)
	if err != nil {
		return result{}, err
	}
	if err := waitReady(ctx, c); err != nil {
		return result{}, err
	}
	count, err := newCounter(ctx, c)
	if err != nil {
		return result{}, err
	}
	defer count.Close()
	var lat *latencies
	if c.eventsBroker() != "" && s.violators() > 0 {
		if lat, err = watchEvents(ctx, c); err != nil {
			return result{}, err
		}
		defer lat.Close()
	}
	pub, err := sim.DialMQTT(ctx, sim.MQTTOptions{Broker: c.Broker, Username: c.Username, Password: c.Password,
		Connections: c.Connections, Window: c.Window, ClientID: "vigil-load", Logger: zerolog.Nop()})
	if err != nil {
		return result{}, err
	}
	defer pub.Close()
	return runLoad(ctx, c, s, pub, count, lat)
}

func newCounter(ctx context.Context, c config) (counter, error) {
	if c.CountSubscriber {
		return countSubscribed(ctx, c.Broker)
	}
	return countAccepted(ctx, c.Metrics)
}

// runLoad publishes, waits, and gathers the figures.
func runLoad(ctx context.Context, c config, s *stream, pub *sim.MQTTPublisher, count counter, lat *latencies) (result, error) {
	before, err := cpuTimes(c.Processes)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	var samples *sampler
	if c.Sample > 0 {
		samples = startSampling(ctx, c, start, func() int64 { return pub.Counts().Published }, count)
	}
	intervals, pubErr := publish(ctx, c, s, pub, count, lat, start)
	flushErr := pub.Flush()
	published := pub.Counts().Published
	delivered, lastAt := waitDelivered(ctx, count, published, c.Drain)
	end := time.Now()
	after, err := cpuTimes(c.Processes)
	if err != nil {
		return result{}, err
	}
	r := result{Case: c.Case, Devices: c.Devices, Violators: s.violators(), OfferedRate: c.Rate, Intervals: intervals,
		Published: published, Failed: pub.Counts().Failed, Delivered: delivered, Lost: published - delivered,
		Seconds: lastAt.Sub(start).Seconds()}
	if r.Seconds > 0 {
		r.PerSecond = float64(delivered) / r.Seconds
	}
	r.addCPU(c.Processes, before, after, end.Sub(start))
	if samples != nil {
		r.Samples = samples.finish()
	}
	if lat != nil {
		r.addLatency(lat)
	}
	if err := errors.Join(pubErr, flushErr); err != nil {
		r.Error = err.Error()
	}
	return r, nil
}

// waitDelivered waits until every published report is delivered, none has
// come for quietLimit, or drain has passed; it returns the count and the
// time of the last delivery.
func waitDelivered(ctx context.Context, count counter, published int64, drain time.Duration) (int64, time.Time) {
	deadline := time.Now().Add(drain)
	for {
		n, at := count.Delivered()
		quiet := time.Since(at) > quietLimit
		if n >= published || quiet || time.Now().After(deadline) || ctx.Err() != nil {
			return n, at
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publish sends the stream until the duration has passed or the given
// number of intervals is sent, and returns the number of intervals begun. Worker w sends devices w, w+workers, ...,
// interval after interval, so each device's reports go out in order.
func publish(ctx context.Context, c config, s *stream, pub *sim.MQTTPublisher, count counter, lat *latencies, start time.Time) (int, error) {
	deadline := start.Add(c.Duration)
	var seq atomic.Int64
	var intervals atomic.Int64
	errs := make([]error, c.Workers)
	var wg sync.WaitGroup
	for w := range c.Workers {
		wg.Go(func() {
			g := gate{c: c, count: count, seq: &seq, start: start, deadline: deadline}
			for k := 0; c.Intervals == 0 || k < c.Intervals; k++ {
				intervals.Store(max(intervals.Load(), int64(k+1)))
				for i := w; i < len(s.topics); i += c.Workers {
					if !g.open(ctx) {
						return
					}
					payload, id := s.report(i, k)
					if lat != nil && s.violator(i) {
						lat.published(s.names[i], id, time.Now())
					}
					if errs[w] = pub.Publish(s.topics[i], payload); errs[w] != nil {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return int(intervals.Load()), errors.Join(errs...)
}

// gate decides when a worker may publish its next report.
type gate struct {
	c        config
	count    counter
	seq      *atomic.Int64 // reports let through by every worker
	start    time.Time
	deadline time.Time
}

// open waits until the next report may go out: within the offered rate,
// and with at most MaxOutstanding reports undelivered. It returns false
// once the duration has passed or ctx has ended.
func (g gate) open(ctx context.Context) bool {
	n := g.seq.Add(1)
	if g.c.Rate > 0 {
		due := g.start.Add(time.Duration(float64(n-1) / g.c.Rate * float64(time.Second)))
		time.Sleep(time.Until(due))
	}
	for {
		if ctx.Err() != nil || time.Now().After(g.deadline) {
			return false
		}
		delivered, _ := g.count.Delivered()
		if n-delivered <= g.c.MaxOutstanding {
			return true
		}
		time.Sleep(time.Millisecond)
	}
}

// waitReady waits until the broker accepts TCP connections and, when
// given, the metrics page answers.
func waitReady(ctx context.Context, c config) error {
	u, err := url.Parse(c.Broker)
	if err != nil {
		return fmt.Errorf("broker URL %q: %w", c.Broker, err)
	}
	deadline := time.Now().Add(c.Ready)
	for {
		err := probe(ctx, u.Host, c.Metrics)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not ready after %s: %w", c.Ready, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func probe(ctx context.Context, addr, metrics string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	conn.Close()
	if metrics == "" {
		return nil
	}
	_, err = scrapeAccepted(ctx, metrics)
	return err
}
