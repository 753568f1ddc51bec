package store_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/store"
)

var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

// event is one event read back by ScanEvents.
type event struct {
	key []byte
	rec record
}

// eventsIn lists the events from start to end after the key after, at most
// limit of them (0: all).
func eventsIn(t *testing.T, db *store.DB, start, end time.Time, after []byte, limit int) []event {
	t.Helper()
	var out []event
	var decodeErr error
	err := db.ScanEvents(start, end, after, func(key, data []byte) bool {
		var r record
		if decodeErr = json.Unmarshal(data, &r); decodeErr != nil {
			return false
		}
		out = append(out, event{key: key, rec: r})
		return limit == 0 || len(out) < limit
	})
	if err != nil || decodeErr != nil {
		t.Fatalf("ScanEvents: %v, %v", err, decodeErr)
	}
	return out
}

func eventNs(events []event) []int {
	out := []int{}
	for _, e := range events {
		out = append(out, e.rec.N)
	}
	return out
}

// putEvents stores events whose N is their minute, for each minute given,
// under violation id "v".
func putEvents(t *testing.T, db *store.DB, minutes ...int) {
	t.Helper()
	commit(t, db, func(b *store.Batch) {
		for _, m := range minutes {
			b.PutEvent(at(m), "v", 0, record{N: m})
		}
	})
}

func TestScanEventsRange(t *testing.T) {
	db := newDB(t)
	putEvents(t, db, 30, 0, 10, 20, 40) // out of order: the keys sort by time
	tests := []struct {
		name       string
		start, end time.Time
		want       []int
	}{
		{"all", at(-1), at(41), []int{0, 10, 20, 30, 40}},
		// start is inclusive and end exclusive, so adjacent ranges never
		// list an event twice.
		{"start inclusive", at(10), at(21), []int{10, 20}},
		{"end exclusive", at(10), at(20), []int{10}},
		{"adjacent range", at(20), at(30), []int{20}},
		{"one nanosecond", at(20), at(20).Add(time.Nanosecond), []int{20}},
		{"empty range", at(20), at(20), []int{}},
		{"between events", at(11), at(19), []int{}},
		{"after all", at(41), at(100), []int{}},
		{"end before start", at(30), at(10), []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eventNs(eventsIn(t, db, tt.start, tt.end, nil, 0)); !slices.Equal(got, tt.want) {
				t.Errorf("ScanEvents(%v, %v) = %v, want %v", tt.start.Sub(base), tt.end.Sub(base), got, tt.want)
			}
		})
	}
}

// TestScanEventsSameInstant checks the order of events that share a time:
// by violation id, then by sequence, and that none hides another.
func TestScanEventsSameInstant(t *testing.T) {
	db := newDB(t)
	commit(t, db, func(b *store.Batch) {
		b.PutEvent(at(1), "b", 1, record{N: 4})
		b.PutEvent(at(1), "a", 1, record{N: 2})
		b.PutEvent(at(1), "b", 0, record{N: 3})
		b.PutEvent(at(1), "a", 0, record{N: 1})
		b.PutEvent(at(1).Add(time.Nanosecond), "a", 0, record{N: 5})
	})
	if got := eventNs(eventsIn(t, db, at(0), at(2), nil, 0)); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Errorf("events = %v, want 1..5", got)
	}
	// Storing an event again under the same time, id and sequence replaces
	// it.
	commit(t, db, func(b *store.Batch) { b.PutEvent(at(1), "a", 0, record{N: 10}) })
	if got := eventNs(eventsIn(t, db, at(0), at(2), nil, 0)); !slices.Equal(got, []int{10, 2, 3, 4, 5}) {
		t.Errorf("events after a rewrite = %v", got)
	}
}

// TestScanEventsPaging reads the events a page at a time, passing back the
// key of the last event of each page as after: every event is listed once,
// in order, for every page size.
func TestScanEventsPaging(t *testing.T) {
	db := newDB(t)
	var want []int
	commit(t, db, func(b *store.Batch) {
		for m := range 10 {
			b.PutEvent(at(m), "v", 0, record{N: m})
			b.PutEvent(at(m), "w", 0, record{N: 100 + m}) // same instant, next id
			want = append(want, m, 100+m)
		}
	})
	for _, size := range []int{1, 2, 3, 7, 20, 21} {
		var got []int
		var after []byte
		for page := 0; ; page++ {
			if page > len(want) {
				t.Fatalf("page size %d: paging does not end", size)
			}
			events := eventsIn(t, db, at(0), at(10), after, size)
			got = append(got, eventNs(events)...)
			if len(events) < size {
				break
			}
			after = events[len(events)-1].key
		}
		if !slices.Equal(got, want) {
			t.Errorf("page size %d: %v, want %v", size, got, want)
		}
	}
}

// TestScanEventsAfterOutsideRange pages with a key that lies outside the
// scanned range: before it, the scan starts at the range; after it, the scan
// is empty.
func TestScanEventsAfterOutsideRange(t *testing.T) {
	db := newDB(t)
	putEvents(t, db, 0, 5, 10, 15)
	all := eventsIn(t, db, at(0), at(20), nil, 0)
	if got := eventNs(eventsIn(t, db, at(5), at(15), all[0].key, 0)); !slices.Equal(got, []int{5, 10}) {
		t.Errorf("after a key before the range: %v, want 5, 10", got)
	}
	if got := eventNs(eventsIn(t, db, at(5), at(15), all[3].key, 0)); len(got) != 0 {
		t.Errorf("after a key past the range: %v, want none", got)
	}
	if got := eventNs(eventsIn(t, db, at(5), at(15), all[1].key, 0)); !slices.Equal(got, []int{10}) {
		t.Errorf("after the first key of the range: %v, want 10", got)
	}
}

func TestDeleteEventsBefore(t *testing.T) {
	db := newDB(t)
	putEvents(t, db, 0, 10, 20, 30)
	commit(t, db, func(b *store.Batch) {
		b.PutEvent(at(20).Add(-time.Nanosecond), "v", 0, record{N: 19})
		b.Put(store.Violations, "v", record{N: 1})
		b.PutOutbox(1, record{N: 1})
	})
	if err := db.DeleteEventsBefore(at(20)); err != nil {
		t.Fatal(err)
	}
	// An event at the cut-off is not older than it and stays.
	if got := eventNs(eventsIn(t, db, at(-100), at(100), nil, 0)); !slices.Equal(got, []int{20, 30}) {
		t.Errorf("events after DeleteEventsBefore(20) = %v, want 20, 30", got)
	}
	if got := names(t, db, store.Violations, ""); !slices.Equal(got, []string{"v"}) {
		t.Errorf("DeleteEventsBefore removed records: violations %q", got)
	}
	if got := outbox(t, db); len(got) != 1 {
		t.Errorf("DeleteEventsBefore removed the outbox: %v", got)
	}
	if err := db.DeleteEventsBefore(at(100)); err != nil {
		t.Fatal(err)
	}
	if got := eventsIn(t, db, at(-100), at(200), nil, 0); len(got) != 0 {
		t.Errorf("events left after deleting all: %v", eventNs(got))
	}
}

// queued is one outbox entry read back.
type queued struct {
	seq uint64
	rec record
}

func outbox(t *testing.T, db *store.DB) []queued {
	t.Helper()
	var out []queued
	err := db.ScanOutbox(func(seq uint64, data []byte) error {
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		out = append(out, queued{seq, r})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func outboxSeqs(entries []queued) []uint64 {
	out := []uint64{}
	for _, e := range entries {
		out = append(out, e.seq)
	}
	return out
}

func TestOutboxOrderAndDelete(t *testing.T) {
	db := newDB(t)
	// Sequences that sort differently as text or as little-endian bytes.
	seqs := []uint64{256, 2, 1 << 40, 10, 1}
	commit(t, db, func(b *store.Batch) {
		for _, s := range seqs {
			b.PutOutbox(s, record{N: int(s % 1000)})
		}
	})
	if got, want := outboxSeqs(outbox(t, db)), []uint64{1, 2, 10, 256, 1 << 40}; !slices.Equal(got, want) {
		t.Fatalf("outbox order %v, want %v", got, want)
	}
	if got := outbox(t, db); got[3].rec.N != 256 {
		t.Errorf("entry 256 holds %+v", got[3].rec)
	}
	commit(t, db, func(b *store.Batch) {
		b.DeleteOutbox(1)
		b.DeleteOutbox(256)
		b.DeleteOutbox(3) // absent: not an error
	})
	if got, want := outboxSeqs(outbox(t, db)), []uint64{2, 10, 1 << 40}; !slices.Equal(got, want) {
		t.Fatalf("outbox after deletes %v, want %v", got, want)
	}
	// Outbox entries are not records of any kind.
	if got := names(t, db, store.Meta, ""); got != nil {
		t.Errorf("outbox entries show as records: %q", got)
	}
}
