package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-iot/vigil/detector/store"
)

// maxBatchBytes bounds one commit; a flush with more to write commits
// several times.
const maxBatchBytes = 1 << 20

// Flush writes every point appended before it was called. Its commits are
// not synced: once Flush returns, the points survive a crash of the process,
// and a crash of the machine may lose the last ones. A stored block that
// cannot be decoded is replaced by the buffered points of its key, and
// reported in the error; the rest is written all the same.
func (h *History) Flush() error {
	h.flushMu.Lock()
	defer h.flushMu.Unlock()
	taken := h.takeDirty()
	replaced, err := h.merge(&taken)
	if err != nil {
		h.settle(&taken, nil)
		return err
	}
	w := h.write(&taken)
	h.settle(&taken, w)
	return errors.Join(append(replaced, w.err)...)
}

// takeDirty takes the lists of series with points to write.
func (h *History) takeDirty() (taken [numShards][]*series) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		taken[i], sh.dirty = sh.dirty, nil
		sh.mu.Unlock()
	}
	return taken
}

// blocks yields the series' buffered blocks, the open one last.
func (s *series) blocks(yield func(*block) bool) {
	for _, b := range s.pending {
		if !yield(b) {
			return
		}
	}
	if s.open != nil {
		yield(s.open)
	}
}

// toMerge is a block that may have a stored copy to merge with.
type toMerge struct {
	shard  int
	b      *block
	key    []byte
	stored []byte // the stored runs, or nil
}

// merge reads the stored copy of every dirty block that may have one, and
// puts the stored runs before the buffered ones.
// It returns the errors of the stored blocks it replaced.
func (h *History) merge(taken *[numShards][]*series) ([]error, error) {
	todo := h.incomplete(taken)
	var replaced []error
	for i := range todo {
		m := &todo[i]
		v, err := h.db.GetRaw(m.key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read history block to merge: %w", err)
		}
		if _, err := decodeBlock(m.b.start, v, nil); err != nil {
			replaced = append(replaced, fmt.Errorf("replace history block %q: %w", m.key, err))
			continue
		}
		m.stored = v[1:]
	}
	for _, m := range todo {
		sh := &h.shards[m.shard]
		sh.mu.Lock()
		m.b.runs = append(m.stored, m.b.runs...)
		m.b.complete = true
		sh.mu.Unlock()
	}
	return replaced, nil
}

// incomplete lists the dirty blocks that may have a stored copy.
func (h *History) incomplete(taken *[numShards][]*series) []toMerge {
	var todo []toMerge
	cutoff := h.cutoff.Load()
	for i := range h.shards {
		if len(taken[i]) == 0 {
			continue
		}
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, s := range taken[i] {
			for b := range s.blocks {
				if b.dirty() && !b.complete && b.start >= cutoff {
					todo = append(todo, toMerge{shard: i, b: b, key: blockKey(b.start, s.id.thing, s.id.metric)})
				}
			}
		}
		sh.mu.Unlock()
	}
	return todo
}

// written is a block written at a generation.
type written struct {
	b   *block
	gen uint64
}

// writer writes blocks in batches of about maxBatchBytes, a shard's blocks
// always in one batch.
type writer struct {
	h       *History
	batch   *store.Batch
	size    int
	newest  int64 // the newest block start in the batch
	inBatch []int // the shards in the batch
	done    [numShards]bool
	written [numShards][]written
	err     error
	key     []byte // buffers, copied by the batch
	value   []byte
}

// write writes the dirty complete blocks of the taken series.
func (h *History) write(taken *[numShards][]*series) *writer {
	w := &writer{h: h, newest: -1}
	cutoff := h.cutoff.Load()
	for i := range h.shards {
		if len(taken[i]) == 0 {
			continue
		}
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, s := range taken[i] {
			w.series(i, s, cutoff)
		}
		sh.mu.Unlock()
		w.inBatch = append(w.inBatch, i)
		if w.size >= maxBatchBytes && !w.commit() {
			return w
		}
	}
	w.commit()
	return w
}

// series adds a series' dirty blocks to the batch.
func (w *writer) series(i int, s *series, cutoff int64) {
	for b := range s.blocks {
		if !b.dirty() || !b.complete || b.start < cutoff {
			continue
		}
		if w.batch == nil {
			w.batch = w.h.db.NewBatch()
		}
		w.key = appendBlockKey(w.key[:0], b.start, s.id.thing, s.id.metric)
		w.value = b.appendRuns(append(w.value[:0], blockVersion))
		w.batch.SetRaw(w.key, w.value)
		w.size += len(w.key) + len(w.value)
		w.newest = max(w.newest, b.start)
		w.written[i] = append(w.written[i], written{b, b.gen})
	}
}

// commit commits the batch, with the newest block marker when it moves.
func (w *writer) commit() bool {
	defer func() { w.batch, w.size, w.inBatch = nil, 0, nil }()
	if w.batch == nil {
		w.markDone()
		return true
	}
	if !w.h.markerKnown {
		if err := w.h.learnNewest(); err != nil {
			w.batch.Discard()
			w.err = fmt.Errorf("write history: %w", err)
			return false
		}
	}
	if w.newest > w.h.written {
		w.batch.SetRaw(newestKey, binary.BigEndian.AppendUint64(nil, uint64(w.newest)))
	}
	if err := w.h.db.CommitNoSync(w.batch); err != nil {
		w.err = fmt.Errorf("write history: %w", err)
		return false
	}
	w.h.written = max(w.h.written, w.newest)
	w.markDone()
	return true
}

func (w *writer) markDone() {
	for _, i := range w.inBatch {
		w.done[i] = true
	}
}

// settle marks the committed blocks clean, drops the pending blocks that
// are written or expired, and puts back the series that still have points
// to write.
func (h *History) settle(taken *[numShards][]*series, w *writer) {
	cutoff := h.cutoff.Load()
	for i := range h.shards {
		if len(taken[i]) == 0 {
			continue
		}
		sh := &h.shards[i]
		sh.mu.Lock()
		if w != nil && w.done[i] {
			for _, x := range w.written[i] {
				x.b.flushed = x.gen
			}
		}
		for _, s := range taken[i] {
			if s.settle(cutoff) {
				sh.dirty = append(sh.dirty, s)
			} else {
				s.dirty = false
			}
		}
		sh.mu.Unlock()
	}
}

// settle drops written and expired blocks; it reports whether the series
// still has points to write.
func (s *series) settle(cutoff int64) bool {
	s.pending = slices.DeleteFunc(s.pending, func(b *block) bool { return !b.dirty() || b.start < cutoff })
	if s.open != nil && s.open.start < cutoff {
		s.open = nil
	}
	return len(s.pending) > 0 || s.open != nil && s.open.dirty()
}

// Expire deletes, with one range deletion, every day partition that ends
// at or before now - Retention, and hides the older points of the day that
// holds that instant from Values; it touches nothing newer. It then
// compacts the deleted range, so that the disk space is freed at once.
func (h *History) Expire(now time.Time) error {
	day, err := h.deleteBefore(now.Add(-h.o.Retention).UnixMilli())
	if err != nil || day == 0 {
		return err
	}
	if err := h.db.Compact(dayKey(0), dayKey(day)); err != nil {
		return fmt.Errorf("compact expired history: %w", err)
	}
	return nil
}

// deleteBefore moves the horizon and deletes the days that ended before
// it; it returns the first day kept, or 0 when it deleted nothing.
func (h *History) deleteBefore(horizon int64) (int64, error) {
	h.flushMu.Lock()
	defer h.flushMu.Unlock()
	raise(&h.horizon, horizon)
	day := floorDiv(horizon, daySpanMs)
	if day <= h.expired {
		return 0, nil
	}
	raise(&h.cutoff, day*daySpanMs)
	h.dropExpired(day * daySpanMs)
	if err := h.db.DeleteRawRange(dayKey(0), dayKey(day)); err != nil {
		return 0, fmt.Errorf("expire history before %s: %w", time.UnixMilli(day*daySpanMs).UTC().Format(time.DateOnly), err)
	}
	h.expired = day
	return day, nil
}

// dropExpired forgets the buffered blocks before cutoff, and the series
// left with none.
func (h *History) dropExpired(cutoff int64) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for thing, list := range sh.things {
			list = slices.DeleteFunc(list, func(s *series) bool {
				s.settleExpired(cutoff)
				return s.open == nil && len(s.pending) == 0
			})
			if len(list) == 0 {
				delete(sh.things, thing)
			} else {
				sh.things[thing] = list
			}
		}
		sh.mu.Unlock()
	}
}

func (s *series) settleExpired(cutoff int64) {
	s.pending = slices.DeleteFunc(s.pending, func(b *block) bool { return b.start < cutoff })
	if s.open != nil && s.open.start < cutoff {
		s.open = nil
	}
}

// raise sets v to x when x is greater.
func raise(v interface {
	Load() int64
	CompareAndSwap(old, new int64) bool
}, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// floorDiv divides rounding down.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
