package store

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// rawPrefix keeps the raw key space of other packages (time series, fleet
// summaries) apart from the records.
const rawPrefix = "x/"

func rawKey(key []byte) []byte {
	return append([]byte(rawPrefix), key...)
}

// SetRaw stores a value under a raw key, for data a package encodes itself.
func (b *Batch) SetRaw(key, value []byte) {
	b.keep(b.b.Set(rawKey(key), value, nil))
}

// DeleteRaw removes a raw key.
func (b *Batch) DeleteRaw(key []byte) {
	b.keep(b.b.Delete(rawKey(key), nil))
}

// CommitNoSync applies the batch atomically without waiting for the disk:
// it survives a crash of the process but not of the machine. For data that
// may lose its last moments, such as metric history.
func (d *DB) CommitNoSync(b *Batch) error {
	defer b.b.Close()
	if b.err != nil {
		return fmt.Errorf("commit: %w", b.err)
	}
	if err := b.b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// GetRaw reads a raw key; it returns ErrNotFound when it is absent.
func (d *DB) GetRaw(key []byte) ([]byte, error) {
	v, closer, err := d.db.Get(rawKey(key))
	if err == pebble.ErrNotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get raw key: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// ScanRaw calls fn for every raw key from lower (inclusive) to upper
// (exclusive), in key order, until fn returns false. The key and value
// passed to fn are valid only during the call. A nil upper means no bound.
func (d *DB) ScanRaw(lower, upper []byte, fn func(key, value []byte) bool) error {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: rawKey(lower), UpperBound: rawUpper(upper)})
	if err != nil {
		return fmt.Errorf("scan raw keys: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if !fn(it.Key()[len(rawPrefix):], it.Value()) {
			break
		}
	}
	return it.Error()
}

// rawUpper is the store key bounding a raw range above; a nil upper (as
// RawPrefixEnd returns for a prefix of 0xff bytes) means the end of the raw
// key space.
func rawUpper(upper []byte) []byte {
	if upper == nil {
		return prefixEnd([]byte(rawPrefix))
	}
	return rawKey(upper)
}

// DeleteRawRange removes every raw key from lower (inclusive) to upper
// (exclusive) with one range deletion, synced. A nil upper means no bound.
func (d *DB) DeleteRawRange(lower, upper []byte) error {
	if err := d.db.DeleteRange(rawKey(lower), rawUpper(upper), pebble.Sync); err != nil {
		return fmt.Errorf("delete raw range: %w", err)
	}
	return nil
}

// Compact asks the database to compact the raw range, so that deleted data
// leaves the disk soon. A nil upper means no bound.
func (d *DB) Compact(lower, upper []byte) error {
	return d.db.Compact(rawKey(lower), rawUpper(upper), true)
}

// RawPrefixEnd returns the smallest key after every key with the prefix,
// for use as an upper bound.
func RawPrefixEnd(prefix []byte) []byte { return prefixEnd(prefix) }
