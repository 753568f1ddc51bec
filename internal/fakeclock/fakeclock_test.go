package fakeclock

import (
	"testing"
	"time"
)

// TestAfterJumps fires a timer of an hour at once, with the clock an hour
// on, and never moves the clock back for a timer whose deadline has passed.
func TestAfterJumps(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	if got := <-c.After(time.Hour); !got.Equal(start.Add(time.Hour)) {
		t.Fatalf("hour timer fired at %v", got)
	}
	stale := c.After(time.Minute)
	c.Advance(time.Hour)
	if got := <-stale; !got.Equal(start.Add(2 * time.Hour)) {
		t.Fatalf("a timer whose deadline passed fired at %v; the clock went back", got)
	}
	if got := c.Now(); !got.Equal(start.Add(2 * time.Hour)) {
		t.Fatalf("Now: %v", got)
	}
}

func TestSet(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	for _, want := range []time.Time{start.Add(time.Hour), start.Add(-time.Minute)} {
		c.Set(want)
		if got := c.Now(); !got.Equal(want) {
			t.Errorf("after Set(%v), Now() = %v", want, got)
		}
	}
}
