package history

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/store"
)

// The defaults of Options.
const (
	DefaultRetention     = 14 * 24 * time.Hour
	DefaultFlushInterval = time.Minute
)

// ExpireInterval is how often Run deletes the days that left the
// retention window.
const ExpireInterval = time.Hour

// Options configures a History. The zero value works.
type Options struct {
	// Retention is how long points are kept; 0 means DefaultRetention.
	Retention time.Duration
	// FlushInterval is how often Run writes buffered points; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Now is the clock of Run's retention passes; nil means time.Now.
	Now    func() time.Time
	Logger zerolog.Logger
}

// numShards splits the buffered series, so that concurrent appends for
// different things rarely wait for each other.
const numShards = 64

// History is the metric history of every thing: it buffers appended points
// and writes them to the store in blocks. It is safe for concurrent use.
type History struct {
	db   *store.DB
	o    Options
	log  zerolog.Logger
	seed maphash.Seed

	shards  [numShards]shard
	metrics interner

	// flushMu lets one Flush or Expire run at a time, and Values read the
	// store and the buffer as of the same moment.
	flushMu sync.RWMutex
	// onDisk is the start of the newest block on disk when the history
	// was opened (math.MaxInt64 when unknown): no block after it can be
	// on disk unless this history wrote it.
	onDisk int64
	// written is the start of the newest block known to be on disk, once
	// markerKnown (under flushMu).
	written     int64
	markerKnown bool
	// newest is the start of the newest block buffered or written.
	newest atomic.Int64
	// horizon is the oldest time kept (Unix ms): Append drops older points
	// and Values hides them.
	horizon atomic.Int64
	// cutoff is the start of the oldest day kept: Flush writes no block
	// before it.
	cutoff atomic.Int64
	// expired is the day bound of the last range deletion (under flushMu).
	expired int64
	dropped atomic.Uint64
}

// shard holds the series of the things that hash to it.
type shard struct {
	mu     sync.Mutex
	things map[string][]*series // each thing's series
	dirty  []*series            // series with points not yet written
	_      [64]byte             // keeps shards on their own cache lines
}

// find returns a buffered series, or nil.
func (sh *shard) find(id seriesID) *series {
	for _, s := range sh.things[id.thing] {
		if s.id.metric == id.metric {
			return s
		}
	}
	return nil
}

// create adds a series; its names are copies, so that it keeps no
// caller's buffer alive, and metric names are shared.
func (sh *shard) create(id seriesID, metrics *interner) *series {
	list, ok := sh.things[id.thing]
	if ok {
		id.thing = list[0].id.thing
	} else {
		id.thing = strings.Clone(id.thing)
	}
	s := &series{id: seriesID{id.thing, metrics.get(id.metric)}}
	sh.things[id.thing] = append(list, s)
	return s
}

// interner keeps one copy of each metric name: a fleet has few.
type interner struct {
	mu    sync.Mutex
	names map[string]string
}

func (in *interner) get(name string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if s, ok := in.names[name]; ok {
		return s
	}
	if in.names == nil {
		in.names = map[string]string{}
	}
	s := strings.Clone(name)
	in.names[s] = s
	return s
}

// numSeries counts the buffered series.
func (sh *shard) numSeries() int {
	n := 0
	for _, list := range sh.things {
		n += len(list)
	}
	return n
}

// seriesID names a series: one metric of one thing.
type seriesID struct{ thing, metric string }

// series is a series' buffer: its newest block, kept open until a newer
// block starts, and older blocks waiting for the next flush (the previous
// open block, or blocks that late points went to).
type series struct {
	id      seriesID
	open    *block
	pending []*block
	dirty   bool
}

// New returns the history kept in db. It reads one key to learn how far the
// stored history goes; when that fails, it logs the error and merges every
// block it writes with the store's copy, which is slower but safe.
func New(db *store.DB, o Options) *History {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &History{db: db, o: o, log: o.Logger.With().Str("component", "history").Logger(), seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].things = map[string][]*series{}
	}
	h.written, h.onDisk = -1, math.MaxInt64
	if err := h.learnNewest(); err != nil {
		h.log.Error().Err(err).Msg("read the newest block marker; every block will be merged with its stored copy")
	} else {
		h.onDisk = h.written
	}
	h.newest.Store(h.onDisk)
	return h
}

// learnNewest reads the newest block marker into written; -1 means the
// store has no block. A marker that cannot be decoded is read as "any
// block may be on disk", which keeps merging every block, for good.
func (h *History) learnNewest() error {
	v, err := h.db.GetRaw(newestKey)
	n := int64(-1)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("read the newest block marker: %w", err)
	case len(v) != 8:
		h.log.Error().Int("bytes", len(v)).Msg("corrupt newest block marker; every block will be merged with its stored copy")
		n = math.MaxInt64
	default:
		n = int64(binary.BigEndian.Uint64(v))
	}
	h.written, h.markerKnown = max(h.written, n), true
	return nil
}

// Dropped returns how many appended points were dropped: points before
// 1970 or from year 10000 on, older than the retention horizon, with a
// value of no known kind, or whose thing or metric name holds a NUL byte.
func (h *History) Dropped() uint64 { return h.dropped.Load() }

// validName reports whether a name can be part of a key.
func validName(s string) bool { return strings.IndexByte(s, 0) < 0 }

// Append buffers one datapoint of a thing's metric; the next Flush writes
// it. Times are kept to the millisecond. Points that cannot be kept are
// counted by Dropped.
func (h *History) Append(thing, metric string, t time.Time, v detector.Value) {
	ms := t.UnixMilli()
	if _, ok := headFor(v, 0, 0); !ok || ms < 0 || ms >= maxMs || ms < h.horizon.Load() || !validName(thing) || !validName(metric) {
		h.dropped.Add(1)
		return
	}
	sh := h.shardOf(thing)
	sh.mu.Lock()
	h.add(sh, seriesID{thing, metric}, ms, v)
	sh.mu.Unlock()
}

// shardOf returns the shard of a thing's series.
func (h *History) shardOf(thing string) *shard {
	return &h.shards[maphash.String(h.seed, thing)%numShards]
}

// add appends a point to its series' block, under the shard's lock.
func (h *History) add(sh *shard, id seriesID, ms int64, v detector.Value) {
	s := sh.find(id)
	if s == nil {
		s = sh.create(id, &h.metrics)
	}
	s.blockFor(h, blockStart(ms)).add(ms, v)
	if !s.dirty {
		s.dirty = true
		sh.dirty = append(sh.dirty, s)
	}
}

// blockFor returns the block a point starting at start goes to, opening a
// new one when the point is newer than the open block.
func (s *series) blockFor(h *History, start int64) *block {
	switch {
	case s.open != nil && start == s.open.start:
		return s.open
	case s.open == nil || start > s.open.start:
		if s.open != nil && s.open.dirty() {
			s.pending = append(s.pending, s.open)
		}
		s.open = h.newBlock(start)
		return s.open
	}
	for _, b := range s.pending {
		if b.start == start {
			return b
		}
	}
	// A late point: its block may be on disk already.
	b := &block{start: start}
	s.pending = append(s.pending, b)
	return b
}

// newBlock opens a block newer than any other of its series in this
// history: it is complete when no block that new was on disk at startup.
func (h *History) newBlock(start int64) *block {
	for {
		n := h.newest.Load()
		if start <= n || h.newest.CompareAndSwap(n, start) {
			break
		}
	}
	return &block{start: start, complete: start > h.onDisk}
}

// Run flushes every FlushInterval and deletes expired days at once and
// every ExpireInterval, until ctx ends; then it flushes a last time. It
// logs the errors of its passes.
func (h *History) Run(ctx context.Context) {
	flush := time.NewTicker(h.o.FlushInterval)
	defer flush.Stop()
	expire := time.NewTicker(ExpireInterval)
	defer expire.Stop()
	h.expire()
	for {
		select {
		case <-ctx.Done():
			h.flush()
			return
		case <-flush.C:
			h.flush()
		case <-expire.C:
			h.expire()
		}
	}
}

func (h *History) flush() {
	if err := h.Flush(); err != nil {
		h.log.Error().Err(err).Msg("flush metric history")
	}
}

func (h *History) expire() {
	if err := h.Expire(h.o.Now()); err != nil {
		h.log.Error().Err(err).Msg("expire metric history")
	}
}
