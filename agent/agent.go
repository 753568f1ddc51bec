package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/agent/collect"
	"github.com/vigil-iot/vigil/proto"
)

// Defaults of Options.
const (
	DefaultInterval       = 5 * time.Minute
	DefaultPublishTimeout = 30 * time.Second
)

// Collector samples the host; *collect.Collector is the real one.
type Collector interface {
	Collect(ctx context.Context, now time.Time) (collect.Sample, collect.NetworkDeltas, bool, error)
}

// Publisher sends a report payload to a topic at QoS 1.
type Publisher interface {
	// Connected reports whether a publish can go out now.
	Connected() bool
	// Publish sends the payload and waits for the broker's acknowledgement.
	Publish(ctx context.Context, topic string, payload []byte) error
}

// Options configures an Agent. Thing is required; the rest has defaults.
type Options struct {
	// Thing is the thing name the agent reports for.
	Thing string
	// Interval is the time between reports; 0 means DefaultInterval.
	Interval time.Duration
	// Format is the report encoding; 0 means JSON.
	Format proto.Format
	// Keys selects long or short key names.
	Keys proto.KeyStyle
	// TopicRoot is proto.RootVigil (the default when empty) or proto.RootAWS.
	TopicRoot string
	// Collector samples the host; nil means the live host.
	Collector Collector
	// Custom supplies custom metrics; nil means none.
	Custom CustomSource
	// PublishTimeout bounds one publish; 0 means DefaultPublishTimeout.
	PublishTimeout time.Duration
	// Logger receives the agent's logs.
	Logger zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Agent builds and publishes the reports of one thing.
type Agent struct {
	opts  Options
	topic string

	mu      sync.Mutex
	ids     reportIDs
	carried *collect.NetworkDeltas // traffic of reports that did not go out
}

// New checks the options and returns an Agent.
func New(opts Options) (*Agent, error) {
	if err := proto.ValidateThingName(opts.Thing); err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Format == 0 {
		opts.Format = proto.JSON
	}
	if opts.TopicRoot == "" {
		opts.TopicRoot = proto.RootVigil
	}
	if opts.TopicRoot != proto.RootVigil && opts.TopicRoot != proto.RootAWS {
		return nil, fmt.Errorf("new agent: topic root %q is neither %s nor %s", opts.TopicRoot, proto.RootVigil, proto.RootAWS)
	}
	if opts.Collector == nil {
		opts.Collector = collect.New(collect.Options{})
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = DefaultPublishTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	topic := proto.ReportTopic{Root: opts.TopicRoot, Thing: opts.Thing, Format: opts.Format}
	return &Agent{opts: opts, topic: topic.String()}, nil
}

// Topic returns the topic the agent publishes its reports to.
func (a *Agent) Topic() string { return a.topic }

// NextReport samples the host and builds the next report. Traffic carried
// over from reports that did not go out is added in.
func (a *Agent) NextReport(ctx context.Context) (*proto.Report, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.opts.Now()
	sample, deltas, first, err := a.opts.Collector.Collect(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	var traffic *collect.NetworkDeltas
	if !first {
		total := deltas
		if a.carried != nil {
			total = addTraffic(total, *a.carried)
		}
		traffic = &total
	}
	a.carried = nil
	custom := a.customMetrics(ctx)
	return BuildReport(a.ids.next(now), sample, traffic, custom), nil
}

// customMetrics reads the custom source; a failure, or a name given twice
// by a source of the caller's, costs only this report's custom metrics.
func (a *Agent) customMetrics(ctx context.Context) []proto.CustomMetric {
	if a.opts.Custom == nil {
		return nil
	}
	m, err := a.opts.Custom.CustomMetrics(ctx)
	if err == nil {
		m, err = inNameOrder(m)
	}
	if err != nil {
		a.opts.Logger.Warn().Err(err).Msg("custom metrics left out of this report")
		return nil
	}
	return m
}

// inNameOrder returns custom metrics in name order, sorting a copy when a
// source gave them in another order, and refuses a name given twice.
func inNameOrder(m []proto.CustomMetric) ([]proto.CustomMetric, error) {
	byName := func(a, b proto.CustomMetric) int { return strings.Compare(a.Name, b.Name) }
	if !slices.IsSortedFunc(m, byName) {
		m = slices.Clone(m)
		slices.SortFunc(m, byName)
	}
	for i := 1; i < len(m); i++ {
		if m[i].Name == m[i-1].Name {
			return nil, fmt.Errorf("custom metric %q given twice", m[i].Name)
		}
	}
	return m, nil
}

// carry keeps a report's traffic for the next report after a failed publish.
func (a *Agent) carry(r *proto.Report) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Metrics == nil || r.Metrics.NetworkStats == nil {
		return
	}
	ns := r.Metrics.NetworkStats
	d := collect.NetworkDeltas{BytesIn: *ns.BytesIn, BytesOut: *ns.BytesOut, PacketsIn: *ns.PacketsIn, PacketsOut: *ns.PacketsOut}
	if a.carried != nil {
		d = addTraffic(d, *a.carried)
	}
	a.carried = &d
}

// Encode writes a report in the agent's format and key style.
func (a *Agent) Encode(r *proto.Report) ([]byte, error) {
	return proto.Encode(r, a.opts.Format, a.opts.Keys)
}

// ReportOnce builds one report and publishes it. When the publisher is not
// connected or the publish fails, the report's traffic is carried into the
// next report and the error says so.
func (a *Agent) ReportOnce(ctx context.Context, pub Publisher) error {
	r, err := a.NextReport(ctx)
	if err != nil {
		return err
	}
	payload, err := a.Encode(r)
	if err != nil {
		return fmt.Errorf("encode report %d: %w", r.Header.ReportID, err)
	}
	if !pub.Connected() {
		a.carry(r)
		return fmt.Errorf("report %d not sent: %w", r.Header.ReportID, ErrNotConnected)
	}
	pctx, cancel := context.WithTimeout(ctx, a.opts.PublishTimeout)
	defer cancel()
	if err := pub.Publish(pctx, a.topic, payload); err != nil {
		if !errors.Is(err, ErrPublishUnconfirmed) {
			a.carry(r)
		}
		return fmt.Errorf("publish report %d: %w", r.Header.ReportID, err)
	}
	a.opts.Logger.Debug().Int64("report_id", r.Header.ReportID).Int("bytes", len(payload)).Msg("report published")
	return nil
}

// Run publishes a report at once and then every interval until ctx ends.
// Failures are logged and never stop the loop.
func (a *Agent) Run(ctx context.Context, pub Publisher) error {
	ticker := time.NewTicker(a.opts.Interval)
	defer ticker.Stop()
	for {
		if err := a.ReportOnce(ctx, pub); err != nil && ctx.Err() == nil {
			a.opts.Logger.Warn().Err(err).Msg("report not delivered")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// Errors of ReportOnce.
var (
	// ErrNotConnected: the report was not sent because the client is not
	// connected; its traffic goes into the next report.
	ErrNotConnected = errors.New("not connected to the broker")
	// ErrPublishUnconfirmed: the broker did not acknowledge in time; the
	// report may still arrive, so its traffic is not carried over.
	ErrPublishUnconfirmed = errors.New("publish not acknowledged in time")
)
