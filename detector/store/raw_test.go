package store_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/vigil-iot/vigil/detector/store"
)

// rawKeys lists the raw keys from lower to upper.
func rawKeys(t *testing.T, db *store.DB, lower, upper []byte) []string {
	t.Helper()
	var out []string
	if err := db.ScanRaw(lower, upper, func(key, _ []byte) bool {
		out = append(out, string(key))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRawGetSetDelete(t *testing.T) {
	db := newDB(t)
	if _, err := db.GetRaw([]byte("a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRaw of a missing key: %v, want ErrNotFound", err)
	}
	b := db.NewBatch()
	b.SetRaw([]byte("a"), []byte{0, 1, 2})
	if err := db.CommitNoSync(b); err != nil {
		t.Fatal(err)
	}
	v, err := db.GetRaw([]byte("a"))
	if err != nil || !bytes.Equal(v, []byte{0, 1, 2}) {
		t.Fatalf("GetRaw = %v, %v", v, err)
	}
	v[0] = 9 // the caller owns the value it got
	if again, _ := db.GetRaw([]byte("a")); again[0] != 0 {
		t.Error("GetRaw returned the database's memory")
	}
	commit(t, db, func(b *store.Batch) { b.DeleteRaw([]byte("a")) })
	if _, err := db.GetRaw([]byte("a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRaw after DeleteRaw: %v, want ErrNotFound", err)
	}
}

// TestRawIsolation stores raw keys that spell record keys and records whose
// names spell raw keys: neither space sees the other.
func TestRawIsolation(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) {
		b.SetRaw([]byte("thing/t1"), []byte("raw"))
		b.SetRaw([]byte("event/"), []byte("raw"))
		b.SetRaw([]byte("outbox/\x00\x00\x00\x00\x00\x00\x00\x01"), []byte("raw"))
		b.Put(store.Things, "x/k", record{N: 1})
		b.Put(store.Meta, "k", record{N: 2})
		b.PutEvent(at(0), "v", 0, record{N: 3})
		b.PutOutbox(1, record{N: 4})
	})
	if got := names(t, db, store.Things, ""); !slices.Equal(got, []string{"x/k"}) {
		t.Errorf("Scan of things = %q, want only the record x/k", got)
	}
	var r record
	if err := db.Get(store.Things, "t1", &r); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the raw key thing/t1 reads as a record: %v", err)
	}
	if got := rawKeys(t, db, nil, nil); !slices.Equal(got, []string{"event/", "outbox/\x00\x00\x00\x00\x00\x00\x00\x01", "thing/t1"}) {
		t.Errorf("ScanRaw of everything = %q, want only the raw keys", got)
	}
	if _, err := db.GetRaw([]byte("k")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a record reads as raw key k: %v", err)
	}
	if got := eventNs(eventsIn(t, db, at(-1), at(1), nil, 0)); !slices.Equal(got, []int{3}) {
		t.Errorf("events = %v, want only the event", got)
	}
	if got := outbox(t, db); len(got) != 1 || got[0].rec.N != 4 {
		t.Errorf("outbox = %+v, want only the entry", got)
	}
	// A range deletion of every raw key leaves the records alone.
	if err := db.DeleteRawRange(nil, store.RawPrefixEnd([]byte("\xff"))); err != nil {
		t.Fatal(err)
	}
	if got := rawKeys(t, db, nil, nil); got != nil {
		t.Errorf("raw keys left: %q", got)
	}
	if got := names(t, db, store.Things, ""); !slices.Equal(got, []string{"x/k"}) {
		t.Errorf("DeleteRawRange removed records: %q", got)
	}
	if got := outbox(t, db); len(got) != 1 {
		t.Errorf("DeleteRawRange removed the outbox: %v", got)
	}
}

func TestScanRawBounds(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) {
		for _, k := range []string{"s/a/1", "s/a/2", "s/b/1", "t/a", "s/a\xff"} {
			b.SetRaw([]byte(k), []byte(k))
		}
	})
	tests := []struct {
		name         string
		lower, upper []byte
		want         []string
	}{
		{"all", nil, nil, []string{"s/a/1", "s/a/2", "s/a\xff", "s/b/1", "t/a"}},
		{"prefix", []byte("s/a/"), store.RawPrefixEnd([]byte("s/a/")), []string{"s/a/1", "s/a/2"}},
		{"lower inclusive upper exclusive", []byte("s/a/2"), []byte("s/b/1"), []string{"s/a/2", "s/a\xff"}},
		{"open upper", []byte("s/b"), nil, []string{"s/b/1", "t/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawKeys(t, db, tt.lower, tt.upper); !slices.Equal(got, tt.want) {
				t.Errorf("ScanRaw = %q, want %q", got, tt.want)
			}
		})
	}
	var n int
	if err := db.ScanRaw(nil, nil, func(_, _ []byte) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Errorf("ScanRaw went on after false: %d calls, %v", n, err)
	}
}

func TestDeleteRawRange(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) {
		for _, k := range []string{"d/1", "d/2", "d/3", "e/1"} {
			b.SetRaw([]byte(k), []byte("v"))
		}
	})
	if err := db.DeleteRawRange([]byte("d/1"), []byte("d/3")); err != nil {
		t.Fatal(err)
	}
	if got := rawKeys(t, db, nil, nil); !slices.Equal(got, []string{"d/3", "e/1"}) {
		t.Errorf("after DeleteRawRange(d/1, d/3): %q", got)
	}
	if err := db.Compact([]byte("d/"), store.RawPrefixEnd([]byte("d/"))); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if got := rawKeys(t, db, nil, nil); !slices.Equal(got, []string{"d/3", "e/1"}) {
		t.Errorf("after Compact: %q", got)
	}
}

// TestRawRangeOpenEnd deletes and compacts the keys of a prefix of 0xff
// bytes, whose RawPrefixEnd is nil: nil means the end of the raw key
// space, in DeleteRawRange and Compact as in ScanRaw.
func TestRawRangeOpenEnd(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) {
		b.SetRaw([]byte("a"), []byte("v"))
		b.SetRaw([]byte("\xff\xff1"), []byte("v"))
		b.SetRaw([]byte("\xff\xff\xff"), []byte("v"))
		b.Put(store.Things, "t1", record{})
		b.PutOutbox(1, record{})
	})
	prefix := []byte("\xff\xff")
	if got := rawKeys(t, db, prefix, store.RawPrefixEnd(prefix)); len(got) != 2 {
		t.Fatalf("ScanRaw of the 0xff prefix = %q", got)
	}
	if err := db.DeleteRawRange(prefix, store.RawPrefixEnd(prefix)); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(prefix, store.RawPrefixEnd(prefix)); err != nil {
		t.Fatal(err)
	}
	if got := rawKeys(t, db, nil, nil); !slices.Equal(got, []string{"a"}) {
		t.Errorf("raw keys after deleting the 0xff prefix: %q, want a", got)
	}
	if got := names(t, db, store.Things, ""); len(got) != 1 || len(outbox(t, db)) != 1 {
		t.Errorf("an open-ended raw deletion reached the records or the outbox")
	}
}

func TestRawPrefixEnd(t *testing.T) {
	tests := []struct {
		name   string
		prefix []byte
		want   []byte
	}{
		{"simple", []byte("ab"), []byte("ac")},
		// Trailing 0xff bytes cannot grow; the byte before them does.
		{"trailing ff", []byte("a\xff\xff"), []byte("b")},
		{"inner ff", []byte("\xffa"), []byte("\xffb")},
		// No key is greater than every key that starts with 0xff...: no bound.
		{"all ff", []byte("\xff\xff"), nil},
		{"empty", []byte{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := bytes.Clone(tt.prefix)
			if got := store.RawPrefixEnd(in); !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("RawPrefixEnd(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
			if !bytes.Equal(in, tt.prefix) {
				t.Errorf("RawPrefixEnd changed its argument to %q", in)
			}
		})
	}
}
