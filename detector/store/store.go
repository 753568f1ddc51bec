package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/rs/zerolog"
)

// Kind is a family of named records.
type Kind string

// The record kinds.
const (
	Things        Kind = "thing"
	Groups        Kind = "group"
	Memberships   Kind = "member" // name: group + "\x00" + thing
	CustomMetrics Kind = "custommetric"
	Profiles      Kind = "profile"
	Targets       Kind = "target" // name: profile + "\x00" + target
	ThingStates   Kind = "state"
	Ingest        Kind = "ingest"
	Active        Kind = "active"    // name: violation id
	Verification  Kind = "verify"    // name: violation id
	Violations    Kind = "violation" // name: violation id; the index of every violation
	Meta          Kind = "meta"
)

// ErrNotFound is returned by Get when no record has the name.
var ErrNotFound = errors.New("not found")

// Options configures Open.
type Options struct {
	// InMemory keeps everything in memory (tests); Dir is then ignored.
	InMemory bool
	// Logger receives the database's own logs.
	Logger zerolog.Logger
}

// DB is an open store.
type DB struct {
	db *pebble.DB
}

// Open opens or creates the store in dir.
func Open(dir string, o Options) (*DB, error) {
	opts := &pebble.Options{Logger: logAdapter{o.Logger.With().Str("component", "store").Logger()}}
	if o.InMemory {
		opts.FS = vfs.NewMem()
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	return &DB{db: db}, nil
}

// Close flushes and closes the store.
func (d *DB) Close() error { return d.db.Close() }

func recordKey(kind Kind, name string) []byte {
	k := make([]byte, 0, len(kind)+1+len(name))
	k = append(k, kind...)
	k = append(k, '/')
	return append(k, name...)
}

// Get reads a record into v; it returns ErrNotFound when there is none.
func (d *DB) Get(kind Kind, name string, v any) error {
	data, closer, err := d.db.Get(recordKey(kind, name))
	if errors.Is(err, pebble.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("get %s %q: %w", kind, name, err)
	}
	defer closer.Close()
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", kind, name, err)
	}
	return nil
}

// Scan calls fn for every record of a kind whose name starts with prefix,
// in name order, until fn returns an error.
func (d *DB) Scan(kind Kind, prefix string, fn func(name string, data []byte) error) error {
	lower := recordKey(kind, prefix)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return fmt.Errorf("scan %s: %w", kind, err)
	}
	defer it.Close()
	skip := len(kind) + 1
	for it.First(); it.Valid(); it.Next() {
		if err := fn(string(it.Key()[skip:]), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// prefixEnd returns the smallest key after every key with the prefix.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Batch is a set of changes committed atomically.
type Batch struct {
	b   *pebble.Batch
	err error
}

// NewBatch starts a batch.
func (d *DB) NewBatch() *Batch { return &Batch{b: d.db.NewBatch()} }

// Put stores v as JSON under kind and name.
func (b *Batch) Put(kind Kind, name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		b.keep(fmt.Errorf("encode %s %q: %w", kind, name, err))
		return
	}
	b.keep(b.b.Set(recordKey(kind, name), data, nil))
}

// PutEncoded writes a record its owner has encoded, in a form of its own;
// the batch keeps a copy of data.
func (b *Batch) PutEncoded(kind Kind, name string, data []byte) {
	b.keep(b.b.Set(recordKey(kind, name), data, nil))
}

// Delete removes a record.
func (b *Batch) Delete(kind Kind, name string) {
	b.keep(b.b.Delete(recordKey(kind, name), nil))
}

// DeletePrefix removes every record of a kind whose name starts with prefix.
func (b *Batch) DeletePrefix(kind Kind, prefix string) {
	lower := recordKey(kind, prefix)
	b.keep(b.b.DeleteRange(lower, prefixEnd(lower), nil))
}

func (b *Batch) keep(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

// Empty reports whether the batch holds no change.
func (b *Batch) Empty() bool { return b.b.Empty() }

// Commit applies the batch atomically and syncs it to disk.
func (d *DB) Commit(b *Batch) error {
	defer b.b.Close()
	if b.err != nil {
		return fmt.Errorf("commit: %w", b.err)
	}
	if err := b.b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Discard drops a batch without applying it.
func (b *Batch) Discard() { b.b.Close() }

// eventKey orders events by time, then violation id, then a sequence that
// keeps two events of one violation in one instant apart.
func eventKey(t time.Time, violationID string, seq uint32) []byte {
	k := make([]byte, 0, 6+8+len(violationID)+5)
	k = append(k, "event/"...)
	k = binary.BigEndian.AppendUint64(k, uint64(t.UnixNano()))
	k = append(k, violationID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, seq)
}

// PutEvent stores a violation event at its time.
func (b *Batch) PutEvent(t time.Time, violationID string, seq uint32, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		b.keep(fmt.Errorf("encode event of %s: %w", violationID, err))
		return
	}
	b.keep(b.b.Set(eventKey(t, violationID, seq), data, nil))
}

// ScanEvents calls fn for the events from start (inclusive) to end
// (exclusive), in time order, beginning after the key `after` when it is not
// empty (for paging). fn returns false to stop; the key it is given can be
// passed back as after.
func (d *DB) ScanEvents(start, end time.Time, after []byte, fn func(key, data []byte) bool) error {
	lower := eventKey(start, "", 0)[:6+8]
	upper := eventKey(end, "", 0)[:6+8]
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	defer it.Close()
	ok := it.First()
	if len(after) > 0 {
		ok = it.SeekGE(after)
		if ok && bytes.Equal(it.Key(), after) {
			ok = it.Next()
		}
	}
	for ; ok; ok = it.Next() {
		if !fn(bytes.Clone(it.Key()), it.Value()) {
			break
		}
	}
	return it.Error()
}

// DeleteEventsBefore removes every event older than t with one range
// deletion.
func (d *DB) DeleteEventsBefore(t time.Time) error {
	lower := []byte("event/")
	upper := eventKey(t, "", 0)[:6+8]
	if err := d.db.DeleteRange(lower, upper, pebble.Sync); err != nil {
		return fmt.Errorf("delete events before %v: %w", t, err)
	}
	return nil
}

// outboxKey orders outbox entries by sequence.
func outboxKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("outbox/"), seq)
}

// PutOutbox stores a message to publish under a sequence number.
func (b *Batch) PutOutbox(seq uint64, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		b.keep(fmt.Errorf("encode outbox entry %d: %w", seq, err))
		return
	}
	b.keep(b.b.Set(outboxKey(seq), data, nil))
}

// DeleteOutbox removes an outbox entry once it is published.
func (b *Batch) DeleteOutbox(seq uint64) {
	b.keep(b.b.Delete(outboxKey(seq), nil))
}

// ScanOutbox calls fn for every outbox entry in sequence order.
func (d *DB) ScanOutbox(fn func(seq uint64, data []byte) error) error {
	lower := []byte("outbox/")
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return fmt.Errorf("scan outbox: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := fn(binary.BigEndian.Uint64(it.Key()[len(lower):]), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// SizeBytes estimates the store's size on disk.
func (d *DB) SizeBytes() uint64 {
	m := d.db.Metrics()
	return m.DiskSpaceUsage()
}

// logAdapter passes Pebble's logs to zerolog: information at debug level.
type logAdapter struct{ log zerolog.Logger }

func (l logAdapter) Infof(format string, args ...any)  { l.log.Debug().Msgf(format, args...) }
func (l logAdapter) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }

// Fatalf reports a state Pebble cannot go on from; like Pebble's own
// logger, it stops the process.
func (l logAdapter) Fatalf(format string, args ...any) {
	l.log.Fatal().Msgf(format, args...)
}
