package store_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/store"
)

// record is a small value stored in tests.
type record struct {
	N int    `json:"n"`
	S string `json:"s,omitempty"`
}

// openDB opens a store in dir and closes it when the test ends, unless the
// test closed it first through the returned func.
func openDB(t *testing.T, dir string) (*store.DB, func()) {
	t.Helper()
	db, err := store.Open(dir, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeDB := func() {
		t.Helper()
		if closed {
			return
		}
		closed = true
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(closeDB)
	return db, closeDB
}

func newDB(t *testing.T) *store.DB {
	t.Helper()
	db, _ := openDB(t, t.TempDir())
	return db
}

// commit writes the changes fn makes to a batch, and fails the test if the
// commit fails.
func commit(t *testing.T, db *store.DB, fn func(b *store.Batch)) {
	t.Helper()
	b := db.NewBatch()
	fn(b)
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
}

// names lists the names Scan gives for a kind and prefix.
func names(t *testing.T, db *store.DB, kind store.Kind, prefix string) []string {
	t.Helper()
	var out []string
	if err := db.Scan(kind, prefix, func(name string, _ []byte) error {
		out = append(out, name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGetPutDelete(t *testing.T) {
	db := newDB(t)
	var got record
	if err := db.Get(store.Things, "t1", &got); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing record: %v, want ErrNotFound", err)
	}
	commit(t, db, func(b *store.Batch) { b.Put(store.Things, "t1", record{N: 1, S: "one"}) })
	if err := db.Get(store.Things, "t1", &got); err != nil || got != (record{N: 1, S: "one"}) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	// The same name under another kind is another record.
	if err := db.Get(store.Groups, "t1", &got); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of t1 as a group: %v, want ErrNotFound", err)
	}
	commit(t, db, func(b *store.Batch) { b.Put(store.Things, "t1", record{N: 2}) })
	got = record{}
	if err := db.Get(store.Things, "t1", &got); err != nil || got != (record{N: 2}) {
		t.Fatalf("Get after overwrite = %+v, %v", got, err)
	}
	commit(t, db, func(b *store.Batch) { b.Delete(store.Things, "t1") })
	if err := db.Get(store.Things, "t1", &got); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func TestGetDecodeError(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) { b.Put(store.Meta, "m", "a string") })
	var got record
	err := db.Get(store.Meta, "m", &got)
	if err == nil || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `"m"`) {
		t.Fatalf("Get into the wrong type: %v, want a decode error naming the record", err)
	}
}

func TestScanPrefixes(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) {
		// Written out of order: Scan returns name order.
		for _, name := range []string{"p2\x00thinggroup/b", "p1\x00all/things", "p10\x00all/things", "p1\x00thinggroup/a"} {
			b.Put(store.Targets, name, struct{}{})
		}
		// Neighbouring kinds must not leak into a scan of Targets.
		b.Put(store.Things, "p1", record{N: 1})
		b.Put(store.ThingStates, "p1", record{N: 1})
	})
	tests := []struct {
		name   string
		kind   store.Kind
		prefix string
		want   []string
	}{
		{"whole kind", store.Targets, "", []string{"p1\x00all/things", "p1\x00thinggroup/a", "p10\x00all/things", "p2\x00thinggroup/b"}},
		// The separator keeps p10's targets out of p1's.
		{"one profile", store.Targets, "p1\x00", []string{"p1\x00all/things", "p1\x00thinggroup/a"}},
		{"name prefix", store.Targets, "p1", []string{"p1\x00all/things", "p1\x00thinggroup/a", "p10\x00all/things"}},
		{"no match", store.Targets, "p3", nil},
		{"other kind", store.Things, "", []string{"p1"}},
		{"empty kind", store.Groups, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(t, db, tt.kind, tt.prefix); !slices.Equal(got, tt.want) {
				t.Errorf("Scan(%s, %q) = %q, want %q", tt.kind, tt.prefix, got, tt.want)
			}
		})
	}
}

func TestScanStopsOnError(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) {
		for _, n := range []string{"a", "b", "c"} {
			b.Put(store.Things, n, record{})
		}
	})
	stop := errors.New("stop")
	var seen []string
	err := db.Scan(store.Things, "", func(name string, _ []byte) error {
		seen = append(seen, name)
		if name == "b" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(seen, []string{"a", "b"}) {
		t.Fatalf("Scan = %v after %q, want the callback's error after a, b", err, seen)
	}
}

func TestDeletePrefix(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) {
		for _, n := range []string{"g1\x00t1", "g1\x00t2", "g10\x00t1", "g2\x00t1"} {
			b.Put(store.Memberships, n, struct{}{})
		}
		b.Put(store.Groups, "g1", record{N: 1})
	})
	commit(t, db, func(b *store.Batch) { b.DeletePrefix(store.Memberships, "g1\x00") })
	if got, want := names(t, db, store.Memberships, ""), []string{"g10\x00t1", "g2\x00t1"}; !slices.Equal(got, want) {
		t.Errorf("after DeletePrefix(g1): %q, want %q", got, want)
	}
	if got := names(t, db, store.Groups, ""); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("DeletePrefix reached another kind: groups %q", got)
	}
	commit(t, db, func(b *store.Batch) { b.DeletePrefix(store.Memberships, "") })
	if got := names(t, db, store.Memberships, ""); got != nil {
		t.Errorf("after DeletePrefix of the whole kind: %q", got)
	}
	if got := names(t, db, store.Groups, ""); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("DeletePrefix of a whole kind reached another kind: groups %q", got)
	}
}

// TestBatchAtomic checks that a batch with a change that cannot be encoded
// commits none of its changes, whichever kind of write failed.
func TestBatchAtomic(t *testing.T) {
	unencodable := math.Inf(1) // JSON has no infinity
	tests := []struct {
		name string
		bad  func(b *store.Batch)
	}{
		{"record", func(b *store.Batch) { b.Put(store.Things, "bad", unencodable) }},
		{"event", func(b *store.Batch) { b.PutEvent(at(5), "v-bad", 0, unencodable) }},
		{"outbox", func(b *store.Batch) { b.PutOutbox(99, unencodable) }},
		{"channel", func(b *store.Batch) { b.Put(store.Meta, "bad", make(chan int)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newDB(t)
			commit(t, db, func(b *store.Batch) { b.Put(store.Things, "old", record{N: 1}) })
			b := db.NewBatch()
			b.Put(store.Things, "before", record{N: 2})
			b.Delete(store.Things, "old")
			b.PutEvent(at(1), "v1", 0, record{N: 3})
			b.PutOutbox(1, record{N: 4})
			b.SetRaw([]byte("k"), []byte("v"))
			tt.bad(b)
			b.Put(store.Things, "after", record{N: 5})
			if err := db.Commit(b); err == nil {
				t.Fatal("Commit of a batch with an unencodable value succeeded")
			}
			if got := names(t, db, store.Things, ""); !slices.Equal(got, []string{"old"}) {
				t.Errorf("things after the failed commit: %q, want only old", got)
			}
			if got := eventsIn(t, db, at(0), at(10), nil, 0); len(got) != 0 {
				t.Errorf("events after the failed commit: %v", got)
			}
			if got := outbox(t, db); len(got) != 0 {
				t.Errorf("outbox after the failed commit: %v", got)
			}
			if _, err := db.GetRaw([]byte("k")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("raw key after the failed commit: %v", err)
			}
		})
	}
}

func TestBatchEmptyAndDiscard(t *testing.T) {
	db := newDB(t)
	b := db.NewBatch()
	if !b.Empty() {
		t.Error("a new batch is not empty")
	}
	b.Put(store.Things, "t1", record{N: 1})
	if b.Empty() {
		t.Error("a batch with a Put is empty")
	}
	b.Discard()
	if got := names(t, db, store.Things, ""); got != nil {
		t.Errorf("a discarded batch was applied: %q", got)
	}
}

// TestReopen writes every kind of data, closes the store and opens it again
// from the same directory: everything is there.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	db, closeDB := openDB(t, dir)
	commit(t, db, func(b *store.Batch) {
		b.Put(store.Things, "t1", record{N: 1})
		b.Put(store.Profiles, "p1", record{N: 2})
		b.PutEvent(at(1), "v1", 0, record{N: 3})
		b.PutEvent(at(2), "v1", 1, record{N: 4})
		b.PutOutbox(7, record{N: 5})
		b.SetRaw([]byte("series/a"), []byte("synced"))
	})
	nosync := db.NewBatch()
	nosync.SetRaw([]byte("series/b"), []byte("not synced"))
	if err := db.CommitNoSync(nosync); err != nil {
		t.Fatal(err)
	}
	commit(t, db, func(b *store.Batch) { b.Put(store.Things, "gone", record{}) })
	commit(t, db, func(b *store.Batch) { b.Delete(store.Things, "gone") })
	closeDB()

	db, _ = openDB(t, dir)
	var got record
	if err := db.Get(store.Things, "t1", &got); err != nil || got.N != 1 {
		t.Errorf("thing t1 = %+v, %v", got, err)
	}
	if err := db.Get(store.Profiles, "p1", &got); err != nil || got.N != 2 {
		t.Errorf("profile p1 = %+v, %v", got, err)
	}
	if err := db.Get(store.Things, "gone", &got); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted record came back: %v", err)
	}
	if got := eventsIn(t, db, at(0), at(10), nil, 0); !slices.Equal(eventNs(got), []int{3, 4}) {
		t.Errorf("events = %v, want 3, 4", eventNs(got))
	}
	if got := outbox(t, db); len(got) != 1 || got[0].seq != 7 || got[0].rec.N != 5 {
		t.Errorf("outbox = %+v, want seq 7", got)
	}
	for key, want := range map[string]string{"series/a": "synced", "series/b": "not synced"} {
		if v, err := db.GetRaw([]byte(key)); err != nil || string(v) != want {
			t.Errorf("raw %s = %q, %v; want %q", key, v, err, want)
		}
	}
	if db.SizeBytes() == 0 {
		t.Error("SizeBytes of a store with data is 0")
	}
}

func TestInMemory(t *testing.T) {
	db, err := store.Open("", store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	commit(t, db, func(b *store.Batch) { b.Put(store.Things, "t1", record{N: 1}) })
	var got record
	if err := db.Get(store.Things, "t1", &got); err != nil || got.N != 1 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}
