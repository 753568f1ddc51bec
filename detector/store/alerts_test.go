package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-iot/vigil/detector/store"
)

// TestAlerts checks that alert deliveries come back in sequence order after
// a given sequence, that a put replaces and a delete removes, that they
// survive reopening, and that they stay apart from the other key ranges.
func TestAlerts(t *testing.T) {
	dir := t.TempDir()
	db, closeDB := openDB(t, dir)
	commit(t, db, func(b *store.Batch) {
		for _, seq := range []uint64{3, 1, 256, 2, 1 << 40} {
			b.PutAlert(seq, fmt.Appendf(nil, "v%d", seq))
		}
		b.PutOutbox(1, record{N: 1}) // a neighbouring range that must not show
		b.Put(store.Active, "x", record{N: 2})
	})
	commit(t, db, func(b *store.Batch) {
		b.PutAlert(2, []byte("v2 again"))
		b.DeleteAlert(3)
	})
	closeDB()
	db, _ = openDB(t, dir)
	tests := []struct {
		after uint64
		want  []string
	}{
		{0, []string{"1=v1", "2=v2 again", "256=v256", "1099511627776=v1099511627776"}},
		{2, []string{"256=v256", "1099511627776=v1099511627776"}},
		{1 << 40, nil},
		{^uint64(0), nil}, // no sequence is greater than the largest
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.after), func(t *testing.T) {
			var got []string
			err := db.ScanAlerts(tt.after, func(seq uint64, data []byte) error {
				got = append(got, fmt.Sprintf("%d=%s", seq, data))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("after %d: got %q, want %q", tt.after, got, tt.want)
			}
		})
	}
}
