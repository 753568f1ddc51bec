package broker

import (
	"sync"
	"sync/atomic"
)

// ThingStats counts what the broker saw of one thing (or fleet or operator
// identity) since it started. The counts only grow.
type ThingStats struct {
	// ConnectionAttempts counts CONNECT packets that named the thing, by
	// username or client id, whether they were accepted or not.
	ConnectionAttempts uint64
	// AuthorizationFailures counts refused connections, and publishes and
	// subscriptions the topic rules denied.
	AuthorizationFailures uint64
}

// counters are the live counts behind a ThingStats.
type counters struct {
	attempts atomic.Uint64
	failures atomic.Uint64
}

// statsTable holds the counters of every thing seen, by name. Names that the
// Authenticator does not know are never added.
type statsTable struct {
	m sync.Map // thing name -> *counters
}

// of returns the counters of a thing, adding them on first use.
func (t *statsTable) of(thing string) *counters {
	if c, ok := t.m.Load(thing); ok {
		return c.(*counters)
	}
	c, _ := t.m.LoadOrStore(thing, new(counters))
	return c.(*counters)
}

// read returns a thing's counts, zero for a thing never seen.
func (t *statsTable) read(thing string) ThingStats {
	c, ok := t.m.Load(thing)
	if !ok {
		return ThingStats{}
	}
	cs := c.(*counters)
	return ThingStats{ConnectionAttempts: cs.attempts.Load(), AuthorizationFailures: cs.failures.Load()}
}
