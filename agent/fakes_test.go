package agent_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vigil-iot/vigil/agent"
	"github.com/vigil-iot/vigil/agent/collect"
	"github.com/vigil-iot/vigil/proto"
)

// The fakes below stand in for the host and the broker only where a test
// needs a failure that a real one cannot produce on demand.

// errCollect is the failure fakeCollector returns when told to fail.
var errCollect = errors.New("proc unreadable")

// fakeCollector returns a fixed sample and, on each call, the next traffic
// delta of its script. Like the real collector, its first successful call
// reports first = true, and a failed call changes nothing.
type fakeCollector struct {
	mu      sync.Mutex
	sample  collect.Sample
	deltas  []collect.NetworkDeltas
	fail    []bool // fail[i]: call i fails
	calls   int
	started bool
}

var _ agent.Collector = (*fakeCollector)(nil)

func (c *fakeCollector) Collect(_ context.Context, now time.Time) (collect.Sample, collect.NetworkDeltas, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.calls
	c.calls++
	if i < len(c.fail) && c.fail[i] {
		return collect.Sample{}, collect.NetworkDeltas{}, false, errCollect
	}
	var d collect.NetworkDeltas
	if i < len(c.deltas) {
		d = c.deltas[i]
	}
	first := !c.started
	c.started = true
	if first {
		d = collect.NetworkDeltas{}
	}
	s := c.sample
	s.Time = now
	return s, d, first, nil
}

// fakePublisher records what it is asked to publish and fails as told.
type fakePublisher struct {
	mu        sync.Mutex
	connected bool
	err       error // returned by Publish; the payload is recorded anyway
	topics    []string
	payloads  [][]byte
	published chan struct{} // receives after each Publish, when not nil
}

var _ agent.Publisher = (*fakePublisher)(nil)

func newPublisher() *fakePublisher { return &fakePublisher{connected: true} }

func (p *fakePublisher) Connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected
}

func (p *fakePublisher) Publish(_ context.Context, topic string, payload []byte) error {
	p.mu.Lock()
	p.topics = append(p.topics, topic)
	p.payloads = append(p.payloads, bytes.Clone(payload))
	err, ch := p.err, p.published
	p.mu.Unlock()
	if ch != nil {
		ch <- struct{}{}
	}
	return err
}

// set changes the publisher's state for the next publish.
func (p *fakePublisher) set(connected bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.connected, p.err = connected, err
}

// last returns the number of payloads recorded and the last one decoded.
func (p *fakePublisher) last(format proto.Format) (int, *proto.Report, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.payloads) == 0 {
		return 0, nil, nil
	}
	r, err := proto.Decode(format, p.payloads[len(p.payloads)-1])
	return len(p.payloads), r, err
}

// all decodes every recorded payload.
func (p *fakePublisher) all(format proto.Format) ([]*proto.Report, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*proto.Report, 0, len(p.payloads))
	for _, data := range p.payloads {
		r, err := proto.Decode(format, data)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// customFunc adapts a function to agent.CustomSource.
type customFunc func(ctx context.Context) ([]proto.CustomMetric, error)

func (f customFunc) CustomMetrics(ctx context.Context) ([]proto.CustomMetric, error) {
	return f(ctx)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
