package store

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// alertPrefix is the key range of the alert deliveries still to make.
const alertPrefix = "alert/"

// alertKey orders alert deliveries by sequence.
func alertKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(alertPrefix), seq)
}

// PutAlert stores an alert delivery, encoded by its caller, under a
// sequence number; storing it again replaces it.
func (b *Batch) PutAlert(seq uint64, data []byte) {
	b.keep(b.b.Set(alertKey(seq), data, nil))
}

// DeleteAlert removes an alert delivery once it is made or given up.
func (b *Batch) DeleteAlert(seq uint64) {
	b.keep(b.b.Delete(alertKey(seq), nil))
}

// ScanAlerts calls fn for every alert delivery whose sequence is greater
// than after, in sequence order, until fn returns an error. The data passed
// to fn is valid only during the call.
func (d *DB) ScanAlerts(after uint64, fn func(seq uint64, data []byte) error) error {
	if after == ^uint64(0) {
		return nil
	}
	lower := alertKey(after + 1)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd([]byte(alertPrefix))})
	if err != nil {
		return fmt.Errorf("scan alerts: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := fn(binary.BigEndian.Uint64(it.Key()[len(alertPrefix):]), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}
