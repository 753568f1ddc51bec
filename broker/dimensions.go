package broker

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// ClientIDVariable in a dimension's topic filter stands for the client id of
// the client whose message is matched, as AWS's ${iot:ClientId} does. It
// must fill a whole topic level.
const ClientIDVariable = "${iot:ClientId}"

// Dimension is a named set of MQTT topic filters: the broker counts, per
// thing, the messages whose topic matches one of them.
type Dimension struct {
	Name    string
	Filters []string
}

// dimSet is the dimensions being counted; it is replaced whole, never
// changed, so that the per-message path reads it without a lock.
type dimSet struct {
	dims []dimension
}

// dimension is a Dimension ready for matching.
type dimension struct {
	name       string
	generation uint64
	filters    [][]level
	raw        []string
}

// matches reports whether a topic published or received by a client
// matches one of the dimension's filters.
func (d *dimension) matches(topic, clientID string) bool {
	for _, f := range d.filters {
		if matchFilter(f, topic, clientID) {
			return true
		}
	}
	return false
}

// level is one level of a topic filter, compiled for matching.
type level struct {
	kind levelKind
	text string // of a literal level
}

// levelKind says what a filter level matches.
type levelKind uint8

const (
	literalLevel  levelKind = iota
	anyLevel                // +
	restLevels              // #
	clientIDLevel           // ClientIDVariable
)

// compileFilter splits a checked filter into levels.
func compileFilter(f string) []level {
	parts := strings.Split(f, "/")
	out := make([]level, len(parts))
	for i, p := range parts {
		switch p {
		case "+":
			out[i].kind = anyLevel
		case "#":
			out[i].kind = restLevels
		case ClientIDVariable:
			out[i].kind = clientIDLevel
		default:
			out[i].text = p
		}
	}
	return out
}

// matchFilter reports whether topic matches the filter's levels, with "+"
// matching one level, "#" the rest (the parent level included), and
// ClientIDVariable the client id. It allocates nothing.
func matchFilter(levels []level, topic, clientID string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(levels) > 0 && levels[0].kind != literalLevel && levels[0].kind != clientIDLevel {
		return false // wildcards at the first level do not match $ topics
	}
	for i, l := range levels {
		var ok, last bool
		switch l.kind {
		case restLevels:
			return true
		case anyLevel:
			topic, last = skipLevel(topic), !strings.Contains(topic, "/")
			ok = true
		case clientIDLevel:
			topic, ok, last = cutLevel(topic, clientID)
		default:
			topic, ok, last = cutLevel(topic, l.text)
		}
		if !ok {
			return false
		}
		if last {
			return i == len(levels)-1 || (i == len(levels)-2 && levels[i+1].kind == restLevels)
		}
	}
	return false
}

// cutLevel checks that topic's first level is want, and returns the levels
// after it; last says there were none.
func cutLevel(topic, want string) (rest string, ok, last bool) {
	if len(topic) < len(want) || topic[:len(want)] != want {
		return "", false, false
	}
	rest = topic[len(want):]
	switch {
	case rest == "":
		return "", true, true
	case rest[0] != '/':
		return "", false, false
	}
	return rest[1:], true, false
}

// skipLevel returns the levels after topic's first one.
func skipLevel(topic string) string {
	if i := strings.IndexByte(topic, '/'); i >= 0 {
		return topic[i+1:]
	}
	return ""
}

// zero returns zero counts for each dimension of the set.
func (s *dimSet) zero() []DimensionStats {
	if s == nil || len(s.dims) == 0 {
		return nil
	}
	out := make([]DimensionStats, len(s.dims))
	for i, d := range s.dims {
		out[i] = DimensionStats{Name: d.name, Generation: d.generation}
	}
	return out
}

// generations is the source of dimension generations.
var generations atomic.Uint64

// newDimSet checks and compiles dimensions, keeping the generation of those
// whose filters are unchanged from old.
func newDimSet(dims []Dimension, old *dimSet) (*dimSet, error) {
	s := &dimSet{dims: make([]dimension, 0, len(dims))}
	for _, d := range dims {
		if d.Name == "" || len(d.Filters) == 0 {
			return nil, fmt.Errorf("dimension %q: needs a name and at least one topic filter", d.Name)
		}
		c := dimension{name: d.Name, raw: slices.Clone(d.Filters)}
		for _, f := range d.Filters {
			if err := CheckFilter(f); err != nil {
				return nil, fmt.Errorf("dimension %q: %w", d.Name, err)
			}
			c.filters = append(c.filters, compileFilter(f))
		}
		c.generation = old.generationOf(c)
		s.dims = append(s.dims, c)
	}
	return s, nil
}

// generationOf returns the generation of the dimension of the same name and
// filters, or a new one.
func (s *dimSet) generationOf(d dimension) uint64 {
	if s != nil {
		for _, o := range s.dims {
			if o.name == d.name && slices.Equal(o.raw, d.raw) {
				return o.generation
			}
		}
	}
	return generations.Add(1)
}

// CheckFilter checks an MQTT topic filter: 1 to 256 bytes, no NUL, "+" and
// "#" alone in their level, "#" last, and ClientIDVariable only as a whole
// level.
func CheckFilter(f string) error {
	if f == "" || len(f) > 256 || strings.IndexByte(f, 0) >= 0 {
		return fmt.Errorf("topic filter %q: must be 1 to 256 bytes without NUL", f)
	}
	levels := strings.Split(f, "/")
	for i, lvl := range levels {
		switch {
		case lvl == "#" && i != len(levels)-1:
			return fmt.Errorf("topic filter %q: # must be the last level", f)
		case lvl != "#" && lvl != "+" && strings.ContainsAny(lvl, "+#"):
			return fmt.Errorf("topic filter %q: + and # must fill a whole level", f)
		case lvl != ClientIDVariable && strings.Contains(lvl, "${"):
			return fmt.Errorf("topic filter %q: only %s is substituted, and as a whole level", f, ClientIDVariable)
		}
	}
	return nil
}

// dimCounters are one thing's counts for one dimension set.
type dimCounters struct {
	set *dimSet
	c   []dimCounter
}

// dimCounter is one thing's counts for one dimension.
type dimCounter struct {
	sent, bytes, received, failures atomic.Uint64
}

// dimsFor returns the thing's counters for the current set, making them
// when the set changed since the thing's last message: counts of the
// dimensions whose generation is unchanged are carried over.
func (c *counters) dimsFor(set *dimSet) *dimCounters {
	for {
		old := c.dims.Load()
		if old != nil && old.set == set {
			return old
		}
		d := &dimCounters{set: set, c: make([]dimCounter, len(set.dims))}
		if old != nil {
			old.carryTo(d)
		}
		if c.dims.CompareAndSwap(old, d) {
			return d
		}
	}
}

// carryTo copies the counts of the dimensions both sets share.
func (d *dimCounters) carryTo(to *dimCounters) {
	for i, nd := range to.set.dims {
		for j, od := range d.set.dims {
			if od.generation == nd.generation {
				src, dst := &d.c[j], &to.c[i]
				dst.sent.Store(src.sent.Load())
				dst.bytes.Store(src.bytes.Load())
				dst.received.Store(src.received.Load())
				dst.failures.Store(src.failures.Load())
			}
		}
	}
}

// copyTo fills the counts of out (made by zero for the current set) from
// the dimensions of the same generation.
func (d *dimCounters) copyTo(out []DimensionStats) {
	for i := range out {
		for j, od := range d.set.dims {
			if od.generation == out[i].Generation {
				c := &d.c[j]
				out[i].MessagesSent, out[i].BytesSent = c.sent.Load(), c.bytes.Load()
				out[i].MessagesReceived, out[i].AuthorizationFailures = c.received.Load(), c.failures.Load()
			}
		}
	}
}

// countMessage counts a message on topic for each dimension it matches:
// sent by the thing (with its size), or received by it.
func (c *counters) countMessage(set *dimSet, topic, clientID string, sent bool, size int) {
	if set == nil || len(set.dims) == 0 {
		return
	}
	var d *dimCounters
	for i := range set.dims {
		if !set.dims[i].matches(topic, clientID) {
			continue
		}
		if d == nil {
			d = c.dimsFor(set)
		}
		if sent {
			d.c[i].sent.Add(1)
			d.c[i].bytes.Add(uint64(size))
		} else {
			d.c[i].received.Add(1)
		}
	}
}

// countFailure counts a denied publish or subscription on topic for each
// dimension it matches.
func (c *counters) countFailure(set *dimSet, topic, clientID string) {
	if set == nil {
		return
	}
	for i := range set.dims {
		if set.dims[i].matches(topic, clientID) {
			c.dimsFor(set).c[i].failures.Add(1)
		}
	}
}
