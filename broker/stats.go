package broker

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// ThingStats counts what the broker saw of one thing (or fleet or operator
// identity) since it started. The counts only grow; a reader turns them
// into per-window values by taking differences.
type ThingStats struct {
	// Role is the role of the identity's latest accepted connection; a name
	// that never connected is a RoleDevice.
	Role Role
	// ConnectionAttempts counts CONNECT packets that named the thing, by
	// username or client id, whether they were accepted or not.
	ConnectionAttempts uint64
	// AuthorizationFailures counts refused connections, and publishes and
	// subscriptions the topic rules denied.
	AuthorizationFailures uint64
	// Disconnects counts the ends of accepted connections, whatever their
	// cause (the client left, the network failed, a newer connection with
	// the same client id took over, the broker disconnected it).
	Disconnects uint64
	// MessagesSent counts the PUBLISH packets the thing sent to the broker,
	// allowed or denied; BytesSent sums their payload sizes.
	MessagesSent uint64
	BytesSent    uint64
	// MessagesReceived counts the PUBLISH packets the broker sent to the
	// thing.
	MessagesReceived uint64
	// LargestMessage and SmallestMessage are the payload sizes of the
	// largest and smallest messages the thing sent since the sizes were
	// last restarted (EachStatsRestartingSizes), or since it started; both
	// are 0 when it sent none.
	LargestMessage, SmallestMessage uint64
	// Connections are the thing's most recent connections (at most
	// MaxConnectionRecords), oldest first.
	Connections []Connection
	// Dimensions holds the counts of the topic-filter dimensions set with
	// SetDimensions, in their order.
	Dimensions []DimensionStats
}

// Connected reports whether the thing has a connection open.
func (s ThingStats) Connected() bool {
	for _, c := range s.Connections {
		if c.End.IsZero() {
			return true
		}
	}
	return false
}

// Connection is one accepted connection of a thing.
type Connection struct {
	// Addr is the address the client connected from; invalid when the
	// listener does not give one.
	Addr netip.Addr
	// Start is when it was accepted; End when it ended, zero while open.
	Start, End time.Time
}

// DimensionStats counts, for one thing, the messages whose topic matches a
// dimension's topic filters.
type DimensionStats struct {
	Name string
	// Generation changes when the dimension's filters change: counts of
	// another generation are not comparable.
	Generation            uint64
	MessagesSent          uint64
	BytesSent             uint64
	MessagesReceived      uint64
	AuthorizationFailures uint64
}

// MaxConnectionRecords is the number of recent connections kept per thing.
const MaxConnectionRecords = 8

// counters are the live counts behind a ThingStats. The per-message fields
// are atomics, so that publishing things never share a lock; mu guards the
// connection records, which change only on connect and disconnect.
type counters struct {
	attempts    atomic.Uint64
	failures    atomic.Uint64
	disconnects atomic.Uint64
	sent        atomic.Uint64
	bytes       atomic.Uint64
	received    atomic.Uint64
	largest     atomic.Uint64
	smallest    atomic.Uint64 // size + 1; 0 for none
	role        atomic.Uint32
	dims        atomic.Pointer[dimCounters]

	mu    sync.Mutex
	conns []connRecord
}

// connRecord is a Connection and the client that holds it.
type connRecord struct {
	Connection
	cl *mqtt.Client
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
func (t *statsTable) read(thing string, set *dimSet) ThingStats {
	c, ok := t.m.Load(thing)
	if !ok {
		return ThingStats{Dimensions: set.zero()}
	}
	return c.(*counters).read(set)
}

// each calls fn with every thing's counts, in no particular order; with
// restart, the message sizes start again from none.
func (t *statsTable) each(set *dimSet, restart bool, fn func(thing string, s ThingStats)) {
	t.m.Range(func(k, v any) bool {
		c := v.(*counters)
		s := c.read(set)
		if restart {
			s.LargestMessage, s.SmallestMessage = c.largest.Swap(0), c.smallest.Swap(0)
			if s.SmallestMessage > 0 {
				s.SmallestMessage--
			}
		}
		fn(k.(string), s)
		return true
	})
}

// read snapshots the counters.
func (c *counters) read(set *dimSet) ThingStats {
	s := ThingStats{
		Role:               Role(c.role.Load()),
		ConnectionAttempts: c.attempts.Load(), AuthorizationFailures: c.failures.Load(), Disconnects: c.disconnects.Load(),
		MessagesSent: c.sent.Load(), BytesSent: c.bytes.Load(), MessagesReceived: c.received.Load(),
		Connections: c.connections(), Dimensions: set.zero(), LargestMessage: c.largest.Load(),
	}
	if small := c.smallest.Load(); small > 0 {
		s.SmallestMessage = small - 1
	}
	if d := c.dims.Load(); d != nil {
		d.copyTo(s.Dimensions)
	}
	return s
}

// connected records a new accepted connection.
func (c *counters) connected(cl *mqtt.Client, role Role, now time.Time) {
	c.role.Store(uint32(role))
	addr, _ := netip.ParseAddrPort(cl.Net.Remote)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.conns) == MaxConnectionRecords {
		c.conns = slices.Delete(c.conns, 0, 1)
	}
	c.conns = append(c.conns, connRecord{Connection: Connection{Addr: addr.Addr().Unmap(), Start: now}, cl: cl})
}

// disconnected records the end of a connection.
func (c *counters) disconnected(cl *mqtt.Client, now time.Time) {
	c.disconnects.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.conns {
		if r := &c.conns[i]; r.cl == cl && r.End.IsZero() {
			r.End, r.cl = now, nil
		}
	}
}

// connections copies the connection records. A connection whose client is
// closed without a disconnect event (it failed before its session was
// established) is shown as ended at its start.
func (c *counters) connections() []Connection {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.conns) == 0 {
		return nil
	}
	out := make([]Connection, len(c.conns))
	for i, r := range c.conns {
		out[i] = r.Connection
		if r.End.IsZero() && r.cl != nil && r.cl.Closed() {
			out[i].End = r.Start
		}
	}
	return out
}

// countSent counts a message a thing published, allowed or not: the
// per-message cost of the broker-side metrics, a few atomic additions on
// the thing's own counters and a match against each dimension's filters.
func (h *hook) countSent(s *session, clientID string, pk packets.Packet) {
	c := s.stats
	size := uint64(len(pk.Payload))
	c.sent.Add(1)
	c.bytes.Add(size)
	c.sized(size)
	c.countMessage(h.dims.Load(), pk.TopicName, clientID, true, len(pk.Payload))
}

// sized keeps a message's size if it is the largest or the smallest yet: a
// load each, and a compare-and-swap only for a new extreme.
func (c *counters) sized(size uint64) {
	for cur := c.largest.Load(); size > cur && !c.largest.CompareAndSwap(cur, size); cur = c.largest.Load() {
	}
	for cur := c.smallest.Load(); (cur == 0 || size+1 < cur) && !c.smallest.CompareAndSwap(cur, size+1); cur = c.smallest.Load() {
	}
}

// connLeakAge is how long after its end a connection that never had a
// disconnect event (its CONNACK could not be sent) is forgotten.
const connLeakAge = time.Minute

// sweepConns forgets the admitted connections that ended long ago without
// a disconnect event, which mochi does not give when the CONNACK fails.
func (h *hook) sweepConns() {
	cutoff := time.Now().Add(-connLeakAge).Unix()
	h.conns.Range(func(k, _ any) bool {
		if cl := k.(*mqtt.Client); cl.StopTime() != 0 && cl.StopTime() < cutoff {
			h.conns.Delete(cl)
		}
		return true
	})
}
