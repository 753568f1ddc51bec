package collect

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Options configures a Collector; the zero value reads the live host.
type Options struct {
	// Source supplies counters and sockets; nil means HostSource{}.
	Source Source
	// Interfaces lists the host's interfaces, to name the interface of each
	// socket and to recognise loopback; nil means SystemInterfaces.
	Interfaces InterfaceLister
	// Limits bounds plausible counter growth; zero fields take the defaults.
	Limits Limits
}

// Collector samples the network state of a host and tracks its traffic
// between samples. It is safe for concurrent use; calls are serialised.
type Collector struct {
	source     Source
	interfaces InterfaceLister

	mu      sync.Mutex
	tracker *Tracker
}

// New returns a Collector that has taken no sample yet.
func New(opts Options) *Collector {
	c := &Collector{source: opts.Source, interfaces: opts.Interfaces, tracker: NewTracker(opts.Limits)}
	if c.source == nil {
		c.source = HostSource{}
	}
	if c.interfaces == nil {
		c.interfaces = SystemInterfaces
	}
	return c
}

// Collect samples the host at now and returns the sample and the traffic
// since the previous successful call. On the first successful call, first is
// true and the deltas are zero, so the caller may leave traffic out of its
// report. A failed call changes nothing: the next call measures traffic from
// the last successful one.
func (c *Collector) Collect(ctx context.Context, now time.Time) (s Sample, d NetworkDeltas, first bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err = c.sample(ctx, now)
	if err != nil {
		return Sample{}, NetworkDeltas{}, false, err
	}
	d, first = c.tracker.Update(now, s.Interfaces)
	return s, d, first, nil
}

// sample reads the source and the interface list and summarises them.
func (c *Collector) sample(ctx context.Context, now time.Time) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, fmt.Errorf("collect network sample: %w", err)
	}
	counters, err := c.source.Counters(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("collect interface counters: %w", err)
	}
	sockets, err := c.source.Sockets(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("collect sockets: %w", err)
	}
	ifaces, err := c.interfaces()
	if err != nil {
		return Sample{}, fmt.Errorf("collect interface addresses: %w", err)
	}
	return summarize(now, counters, sockets, newInterfaceTable(ifaces)), nil
}
