package alert

import (
	"container/heap"
	"time"
)

// record is a delivery as the store keeps it.
type record struct {
	Profile     string    `json:"profile"`
	Thing       string    `json:"thing"`
	Key         string    `json:"key"`
	Payload     []byte    `json:"payload"`
	Created     time.Time `json:"created"`
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
}

// entry is a queued delivery.
type entry struct {
	seq uint64
	record
}

// due is when the entry may be tried.
func (e *entry) due() time.Time {
	if e.NextAttempt.IsZero() {
		return e.Created
	}
	return e.NextAttempt
}

// lane holds one thing's deliveries to one profile's webhook, in order.
// Only its head is ever in flight.
type lane struct {
	thing string
	queue []*entry
	busy  bool // the head is in flight
	index int  // in the target's idle heap, or -1
}

func (l *lane) head() *entry { return l.queue[0] }

func (l *lane) pop() *entry {
	e := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	return e
}

// target is one profile's webhook and its queued deliveries.
type target struct {
	profile  string
	lanes    map[string]*lane
	idle     laneHeap // lanes with a queue and nothing in flight, soonest due first
	size     int      // queued deliveries, in flight included
	inflight int
	failures int       // failed attempts in a row
	blocked  time.Time // no attempt before this, after a failure
	dropped  int       // drops not yet logged
	dropLog  time.Time // when drops were last logged
}

func newTarget(profile string) *target {
	return &target{profile: profile, lanes: map[string]*lane{}}
}

// add queues e behind the earlier deliveries of its thing.
func (t *target) add(e *entry) {
	l := t.lanes[e.Thing]
	if l == nil {
		l = &lane{thing: e.Thing, index: -1}
		t.lanes[e.Thing] = l
	}
	l.queue = append(l.queue, e)
	t.size++
	t.settle(l)
}

// settle puts a lane that is not in flight back among the idle lanes, or
// forgets it when its queue is empty.
func (t *target) settle(l *lane) {
	switch {
	case l.busy:
	case len(l.queue) == 0:
		if l.index >= 0 {
			heap.Remove(&t.idle, l.index)
		}
		delete(t.lanes, l.thing)
	case l.index >= 0:
		heap.Fix(&t.idle, l.index)
	default:
		heap.Push(&t.idle, l)
	}
}

// oldestIdle returns the idle lane whose head was queued first, or nil.
func (t *target) oldestIdle() *lane {
	var oldest *lane
	for _, l := range t.idle {
		if oldest == nil || l.head().seq < oldest.head().seq {
			oldest = l
		}
	}
	return oldest
}

// laneHeap orders idle lanes by when their head is due, then by queue order.
type laneHeap []*lane

func (h laneHeap) Len() int { return len(h) }

func (h laneHeap) Less(i, j int) bool {
	a, b := h[i].head(), h[j].head()
	if da, db := a.due(), b.due(); !da.Equal(db) {
		return da.Before(db)
	}
	return a.seq < b.seq
}

func (h laneHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *laneHeap) Push(x any) {
	l := x.(*lane)
	l.index = len(*h)
	*h = append(*h, l)
}

func (h *laneHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = nil
	l.index = -1
	*h = old[:len(old)-1]
	return l
}
