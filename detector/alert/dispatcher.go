package alert

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/store"
)

// Defaults of Options.
const (
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultMaxPending    = 100_000
	DefaultMaxAge        = 14 * 24 * time.Hour
	DefaultWorkers       = 4
	DefaultShutdownGrace = 2 * time.Second
	// recoveryFailures is how many failures in a row mean that a receiver
	// was down, not that it refused one delivery: when one then succeeds,
	// the deliveries held back by their own backoff go at once.
	recoveryFailures = 2
	// dropLogInterval spaces the warnings about dropped deliveries of one
	// profile.
	dropLogInterval = time.Minute
)

// Options configures a Dispatcher. DB and Lookup are required.
type Options struct {
	DB *store.DB
	// Lookup returns a profile's webhook, or false when it has none (any
	// more): its deliveries are then dropped.
	Lookup func(profile string) (Webhook, bool)
	// Client posts the deliveries; nil means NewClient(DefaultTimeout).
	Client *http.Client
	// Clock nil means the system clock.
	Clock  Clock
	Logger zerolog.Logger
	// Registerer receives the delivery metrics; nil means none.
	Registerer prometheus.Registerer
	// MinBackoff and MaxBackoff bound the waits between attempts; 0 means
	// DefaultMinBackoff, DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// MaxPending bounds the queued deliveries of one profile; 0 means
	// DefaultMaxPending.
	MaxPending int
	// MaxAge is how long a delivery is tried before it is dropped; 0 means
	// DefaultMaxAge.
	MaxAge time.Duration
	// Workers bounds the attempts in flight to one profile's webhook; 0
	// means DefaultWorkers.
	Workers int
	// ShutdownGrace is how long Run lets attempts in flight finish once its
	// context ends; 0 means DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// Jitter returns a number in [0, 1) that spreads the waits; nil means
	// a random one.
	Jitter func() float64
}

func (o Options) withDefaults() Options {
	if o.Client == nil {
		o.Client = NewClient(DefaultTimeout)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	return o
}

// Dispatcher queues the webhook deliveries of violation events in the
// store and makes them. Stage and Committed may be called from any
// goroutine; Run makes the deliveries.
type Dispatcher struct {
	opts    Options
	db      *store.DB
	log     zerolog.Logger
	metrics *metrics
	seq     atomic.Uint64 // the last sequence staged
	wake    chan struct{}
	results chan result

	// Owned by Run (and New, before it).
	loaded   uint64 // the last sequence read from the store
	targets  map[string]*target
	inflight int
	puts     []*entry // to store again (after a failed attempt)
	dels     []uint64 // to delete (delivered or dropped)
}

// result is the outcome of one attempt, handed back to Run.
type result struct {
	target *target
	lane   *lane
	attempt
}

// New returns a Dispatcher holding the deliveries left in the store.
func New(opts Options) (*Dispatcher, error) {
	if opts.DB == nil || opts.Lookup == nil {
		return nil, errors.New("new alert dispatcher: DB and Lookup are required")
	}
	opts = opts.withDefaults()
	d := &Dispatcher{
		opts: opts, db: opts.DB, log: opts.Logger.With().Str("component", "alert").Logger(),
		metrics: newMetrics(opts.Registerer), wake: make(chan struct{}, 1), results: make(chan result),
		targets: map[string]*target{},
	}
	if err := d.load(); err != nil {
		return nil, err
	}
	d.seq.Store(d.loaded)
	d.persist()
	if n := d.pending(); n > 0 {
		d.log.Info().Int("pending", n).Msg("webhook deliveries resumed")
	}
	return d, nil
}

// Stage adds to b the delivery of an event of thing to profile's webhook.
// key identifies the event for the receiver; payload is the body. The
// delivery is made once b is committed and Committed called. Calls must
// be ordered as their batches are committed.
func (d *Dispatcher) Stage(b *store.Batch, profile, thing, key string, payload []byte) {
	rec := record{Profile: profile, Thing: thing, Key: key, Payload: payload, Created: d.opts.Clock.Now().UTC()}
	data, _ := json.Marshal(rec) // strings, bytes and a time: always encodes
	b.PutAlert(d.seq.Add(1), data)
}

// Committed tells the dispatcher that the batches staged so far are
// committed (or abandoned).
func (d *Dispatcher) Committed() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run makes the deliveries until ctx ends, then lets the attempts in
// flight finish for up to ShutdownGrace.
func (d *Dispatcher) Run(ctx context.Context) error {
	attempts, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	for {
		now := d.opts.Clock.Now()
		next := d.dispatch(attempts, now)
		d.persist()
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = d.opts.Clock.After(max(next.Sub(now), 0))
		}
		select {
		case <-ctx.Done():
			d.stop(cancel)
			return nil
		case <-d.wake:
			if err := d.load(); err != nil {
				d.log.Error().Err(err).Msg("read new webhook deliveries")
			}
		case r := <-d.results:
			d.finish(r, false)
		case <-timer:
		}
	}
}

// stop waits for the attempts in flight, cancelling them after the grace
// period, and stores their outcomes.
func (d *Dispatcher) stop(cancel context.CancelFunc) {
	grace := time.AfterFunc(d.opts.ShutdownGrace, cancel)
	defer grace.Stop()
	for d.inflight > 0 {
		d.finish(<-d.results, true)
	}
	d.persist()
}

// load reads the deliveries committed since the last load.
func (d *Dispatcher) load() error {
	err := d.db.ScanAlerts(d.loaded, func(seq uint64, data []byte) error {
		d.loaded = seq
		e := &entry{seq: seq}
		if err := json.Unmarshal(data, &e.record); err != nil {
			d.log.Error().Err(err).Uint64("seq", seq).Msg("stored webhook delivery unreadable; dropped")
			d.metrics.dropped.WithLabelValues(dropCorrupt).Inc()
			d.dels = append(d.dels, seq)
			return nil
		}
		d.add(e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load webhook deliveries: %w", err)
	}
	return nil
}

// add queues a delivery, dropping its profile's oldest when that makes
// too many.
func (d *Dispatcher) add(e *entry) {
	t := d.targets[e.Profile]
	if t == nil {
		t = newTarget(e.Profile)
		d.targets[e.Profile] = t
	}
	t.add(e)
	for t.size > d.opts.MaxPending {
		l := t.oldestIdle()
		if l == nil {
			break
		}
		d.drop(t, l, dropOverflow)
		t.settle(l)
	}
	d.gauge(t)
}

// dispatch starts the attempts that are due and returns when the next one
// will be (zero when none waits on time).
func (d *Dispatcher) dispatch(ctx context.Context, now time.Time) time.Time {
	var next time.Time
	for _, t := range d.targets {
		if at := d.dispatchTarget(ctx, t, now); !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
		d.gauge(t)
	}
	return next
}

func (d *Dispatcher) dispatchTarget(ctx context.Context, t *target, now time.Time) time.Time {
	if t.blocked.After(now) {
		return t.blocked
	}
	limit := d.opts.Workers
	if t.failures > 0 {
		limit = 1 // presumed down: one probe at a time
	}
	for t.inflight < limit && len(t.idle) > 0 {
		l := t.idle[0]
		e := l.head()
		if due := e.due(); due.After(now) {
			return due
		}
		if now.Sub(e.Created) > d.opts.MaxAge {
			d.drop(t, l, dropExpired)
			t.settle(l)
			continue
		}
		hook, ok := d.opts.Lookup(t.profile)
		if !ok {
			d.dropAll(t)
			return time.Time{}
		}
		d.start(ctx, t, l, hook, now)
	}
	return time.Time{}
}

// start makes an attempt at l's head in the background.
func (d *Dispatcher) start(ctx context.Context, t *target, l *lane, hook Webhook, now time.Time) {
	heap.Remove(&t.idle, l.index)
	l.busy = true
	t.inflight++
	d.inflight++
	e := l.head()
	go func() {
		began := time.Now()
		a := post(ctx, d.opts.Client, hook, e, now)
		d.metrics.latency.Observe(time.Since(began).Seconds())
		d.results <- result{target: t, lane: l, attempt: a}
	}()
}

// finish applies the outcome of an attempt. While stopping, an attempt cut
// short by the shutdown is not counted as a failure.
func (d *Dispatcher) finish(r result, stopping bool) {
	t, l := r.target, r.lane
	l.busy = false
	t.inflight--
	d.inflight--
	e := l.head()
	switch {
	case r.err == nil:
		d.metrics.attempts.WithLabelValues("delivered").Inc()
		l.pop()
		t.size--
		d.dels = append(d.dels, e.seq)
		if t.failures >= recoveryFailures {
			d.recovered(t)
		}
		t.failures, t.blocked = 0, time.Time{}
	case stopping && errors.Is(r.err, context.Canceled):
	default:
		d.failed(t, e, r.attempt)
	}
	t.settle(l)
	d.gauge(t)
}

// recovered makes every queued delivery of a target that was down due at
// once, rather than at the end of its own backoff: the receiver is back.
func (d *Dispatcher) recovered(t *target) {
	now := d.opts.Clock.Now()
	for _, l := range t.idle {
		if h := l.head(); h.NextAttempt.After(now) {
			h.NextAttempt = now
		}
	}
	heap.Init(&t.idle)
	d.log.Info().Str("profile", t.profile).Int("failures", t.failures).Int("pending", t.size).Msg("webhook receiver back")
}

// failed schedules the next attempt at e and holds back its target.
func (d *Dispatcher) failed(t *target, e *entry, a attempt) {
	now := d.opts.Clock.Now()
	d.metrics.attempts.WithLabelValues("failed").Inc()
	e.Attempts++
	e.NextAttempt = now.Add(backoff(d.opts.MinBackoff, d.opts.MaxBackoff, e.Attempts, d.opts.Jitter())).UTC()
	e.LastError = a.err.Error()
	d.puts = append(d.puts, e)
	t.failures++
	wait := max(backoff(d.opts.MinBackoff, d.opts.MaxBackoff, t.failures, d.opts.Jitter()), min(a.wait, d.opts.MaxBackoff))
	t.blocked = now.Add(wait)
	d.log.Warn().Err(a.err).Str("profile", t.profile).Str("thing", e.Thing).Str("key", e.Key).
		Int("attempts", e.Attempts).Dur("retryIn", wait).Msg("webhook delivery failed; will retry")
}

// drop gives up l's head.
func (d *Dispatcher) drop(t *target, l *lane, reason string) {
	e := l.pop()
	t.size--
	d.dels = append(d.dels, e.seq)
	d.metrics.dropped.WithLabelValues(reason).Inc()
	t.dropped++
	now := d.opts.Clock.Now()
	if now.Sub(t.dropLog) >= dropLogInterval {
		d.log.Warn().Str("profile", t.profile).Str("reason", reason).Int("dropped", t.dropped).Int("pending", t.size).
			Msg("webhook deliveries dropped")
		t.dropLog, t.dropped = now, 0
	}
}

// dropAll gives up every delivery of a target whose webhook is gone,
// except those in flight, which are dropped when they come back failed.
func (d *Dispatcher) dropAll(t *target) {
	for _, l := range t.lanes {
		keep := 0
		if l.busy {
			keep = 1
		}
		for len(l.queue) > keep {
			if keep == 0 {
				d.drop(t, l, dropRemoved)
				continue
			}
			e := l.queue[len(l.queue)-1]
			l.queue = l.queue[:len(l.queue)-1]
			t.size--
			d.dels = append(d.dels, e.seq)
			d.metrics.dropped.WithLabelValues(dropRemoved).Inc()
		}
		t.settle(l)
	}
}

// gauge publishes a target's queue length, and forgets an empty target.
func (d *Dispatcher) gauge(t *target) {
	if t.size == 0 && t.inflight == 0 {
		delete(d.targets, t.profile)
		d.metrics.pending.DeleteLabelValues(t.profile)
		return
	}
	d.metrics.pending.WithLabelValues(t.profile).Set(float64(t.size))
}

// persist stores the changes of the loop's last step. They are not synced:
// after a machine crash, a delivery may be made again, which receivers
// dedupe, or tried sooner than planned.
func (d *Dispatcher) persist() {
	if len(d.puts) == 0 && len(d.dels) == 0 {
		return
	}
	b := d.db.NewBatch()
	deleted := map[uint64]bool{}
	for _, seq := range d.dels {
		b.DeleteAlert(seq)
		deleted[seq] = true
	}
	for _, e := range d.puts {
		if !deleted[e.seq] {
			data, _ := json.Marshal(e.record) // always encodes
			b.PutAlert(e.seq, data)
		}
	}
	if err := d.db.CommitNoSync(b); err != nil {
		d.log.Error().Err(err).Msg("store webhook delivery state")
	}
	d.puts, d.dels = d.puts[:0], d.dels[:0]
}

// pending counts the queued deliveries.
func (d *Dispatcher) pending() int {
	n := 0
	for _, t := range d.targets {
		n += t.size
	}
	return n
}
