package fleetstats

import (
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/percentile"
	"github.com/vigil-iot/vigil/detector/store"
)

// Defaults of Options.
const (
	// DefaultRetention is how long summaries are kept.
	DefaultRetention = 14 * 24 * time.Hour
	// DefaultGrace is how long after its end a 5-minute window still takes
	// late datapoints.
	DefaultGrace = 30 * time.Second
	// DefaultMaxValues bounds the device values held for open windows:
	// about 4 million, some 200 MB at most.
	DefaultMaxValues = 1 << 22
)

// window is the length of the windows datapoints are gathered in, in
// seconds.
const window = int64(5 * time.Minute / time.Second)

// numShards is the number of independently locked parts of the open
// windows; a thing's values always go to the same one.
const numShards = 64

// Options configures an Aggregator. The zero value takes every default.
type Options struct {
	// Retention is how long summaries are kept; 0 means DefaultRetention.
	Retention time.Duration
	// Grace is how long after its end a window still takes late
	// datapoints; 0 means DefaultGrace, a negative value none.
	Grace time.Duration
	// MaxValues bounds the device values held for open windows (one per
	// profile, metric, thing and window); 0 means DefaultMaxValues.
	MaxValues int
	// Logger receives the aggregator's warnings.
	Logger zerolog.Logger
}

// Aggregator gathers each profile's numeric datapoints into per-window
// fleet summaries and stores them. Add may be called from any goroutine;
// Tick, Series and Forget too.
type Aggregator struct {
	db        *store.DB
	retention time.Duration
	grace     time.Duration
	log       zerolog.Logger
	seed      maphash.Seed
	perShard  int
	shards    [numShards]shard

	// closed is the watermark of the open windows, in epoch seconds: every
	// window ending at or before it is closed and takes no more datapoints.
	// Only Tick moves it, under mu; Add reads it under a shard's lock.
	closed atomic.Int64

	late, overflow atomic.Uint64

	mu       sync.Mutex // serializes Tick and Forget, and guards what follows
	pending  map[windowKey]*summary
	stored   int64 // the closed watermark as stored
	rolled   int64 // hour boundary up to which hours and days are rolled up
	purged   int64 // retention cutoff last applied
	warnedAt uint64
}

// New returns an aggregator that stores its summaries in db, restoring its
// watermarks from there.
func New(db *store.DB, o Options) (*Aggregator, error) {
	a := &Aggregator{db: db, retention: o.Retention, grace: o.Grace, seed: maphash.MakeSeed(),
		log: o.Logger.With().Str("component", "fleetstats").Logger(), pending: map[windowKey]*summary{}}
	if a.retention <= 0 {
		a.retention = DefaultRetention
	}
	a.grace = max(a.grace, 0)
	if o.Grace == 0 {
		a.grace = DefaultGrace
	}
	if o.MaxValues <= 0 {
		o.MaxValues = DefaultMaxValues
	}
	a.perShard = max(o.MaxValues/numShards, 1)
	for i := range a.shards {
		a.shards[i].windows = map[windowKey]*openWindow{}
	}
	var err error
	if a.stored, err = loadWatermark(db, closedKey); err != nil {
		return nil, err
	}
	if a.rolled, err = loadWatermark(db, rolledKey); err != nil {
		return nil, err
	}
	a.closed.Store(a.stored)
	return a, nil
}

// windowKey names an open window of one series.
type windowKey struct {
	start           int64
	profile, metric string
}

// deviceValue is one device's value in a window and the time of its latest
// datapoint, in Unix nanoseconds.
type deviceValue struct {
	v float64
	t int64
}

// openWindow holds the device values of one series in one window.
type openWindow struct {
	counter bool
	values  map[string]deviceValue
}

// shard is one part of the open windows, with its own lock.
type shard struct {
	mu      sync.Mutex
	windows map[windowKey]*openWindow
	size    int // device values held
	_       [40]byte
}

// Add records a device's datapoint for a profile's metric at time t.
// Counters are summed per device over the 5-minute window; gauges keep the
// value of the device's latest datapoint. A datapoint of a window already
// closed by Tick is dropped and counted in Stats.Late; one that would
// exceed Options.MaxValues is dropped and counted in Stats.Overflow. NaN
// and infinite values, times before 1970 and names holding a NUL byte are
// ignored.
func (a *Aggregator) Add(profile, metric, thing string, t time.Time, value float64, counter bool) {
	sec := t.Unix()
	if sec < 0 || math.IsNaN(value) || math.IsInf(value, 0) || !validName(profile) || !validName(metric) {
		return
	}
	k := windowKey{start: sec - sec%window, profile: profile, metric: metric}
	sh := &a.shards[maphash.String(a.seed, thing)%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch {
	case k.start+window <= a.closed.Load():
		a.late.Add(1)
	case !sh.add(k, thing, deviceValue{value, t.UnixNano()}, counter, a.perShard):
		a.overflow.Add(1)
	}
}

// add records a value; it returns false when the shard is full.
func (sh *shard) add(k windowKey, thing string, dv deviceValue, counter bool, limit int) bool {
	w := sh.windows[k]
	if w == nil {
		if sh.size >= limit {
			return false
		}
		w = &openWindow{values: map[string]deviceValue{}}
		sh.windows[k] = w
	}
	w.counter = counter
	old, ok := w.values[thing]
	switch {
	case !ok:
		if sh.size >= limit {
			return false
		}
		sh.size++
		w.values[thing] = dv
	case counter:
		w.values[thing] = deviceValue{old.v + dv.v, max(old.t, dv.t)}
	case dv.t >= old.t:
		w.values[thing] = dv
	}
	return true
}

// take removes and returns the windows ending at or before closed.
func (sh *shard) take(closed int64) map[windowKey]*openWindow {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var out map[windowKey]*openWindow
	for k, w := range sh.windows {
		if k.start+window > closed {
			continue
		}
		if out == nil {
			out = map[windowKey]*openWindow{}
		}
		out[k] = w
		sh.size -= len(w.values)
		delete(sh.windows, k)
	}
	return out
}

// drop removes the open windows of a profile.
func (sh *shard) drop(profile string) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for k, w := range sh.windows {
		if k.profile == profile {
			sh.size -= len(w.values)
			delete(sh.windows, k)
		}
	}
}

// Stats are the aggregator's counters.
type Stats struct {
	// Held is the number of device values held for open windows.
	Held int
	// Late counts datapoints dropped because their window was closed.
	Late uint64
	// Overflow counts datapoints dropped because Options.MaxValues values
	// were held.
	Overflow uint64
}

// Stats returns the aggregator's counters.
func (a *Aggregator) Stats() Stats {
	st := Stats{Late: a.late.Load(), Overflow: a.overflow.Load()}
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		st.Held += sh.size
		sh.mu.Unlock()
	}
	return st
}

// Forget removes every summary of a profile, stored or being gathered, as
// when the profile is deleted. Datapoints added for it afterwards are
// gathered again.
func (a *Aggregator) Forget(profile string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.shards {
		a.shards[i].drop(profile)
	}
	for k := range a.pending {
		if k.profile == profile {
			delete(a.pending, k)
		}
	}
	lower := profilePrefix(profile)
	if err := a.db.DeleteRawRange(lower, store.RawPrefixEnd(lower)); err != nil {
		return fmt.Errorf("forget fleet statistics of profile %q: %w", profile, err)
	}
	return nil
}

// summary is a window's summary: its largest 5-minute device count and
// the sketch of its values.
type summary struct {
	devices uint64
	sketch  *percentile.Sketch
}
