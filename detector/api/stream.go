package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/proto"
)

// Stream tuning.
const (
	// streamBuffer is how many events a slow client may fall behind before
	// it is told it lost some.
	streamBuffer = 1024
	// streamHeartbeat is the interval of the comments that keep idle
	// connections (and proxies) open.
	streamHeartbeat = 15 * time.Second
)

// ViolationFeed passes the violation events the detector publishes to the
// clients of GET /api/violation-events/stream. Put its Tee between the
// service and its publisher: an event reaches the feed once it is
// published, so once it is stored.
type ViolationFeed struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

// subscriber is one stream client.
type subscriber struct {
	profile, thing string
	events         chan []byte   // encoded violationEventOut
	lost           chan struct{} // signalled when events were dropped
	done           chan struct{} // closed when the feed closes
}

// NewViolationFeed returns a feed with no clients.
func NewViolationFeed() *ViolationFeed {
	return &ViolationFeed{subs: map[*subscriber]struct{}{}}
}

// Tee returns a publisher that publishes through next and passes the
// violation events it published to the feed's clients.
func (f *ViolationFeed) Tee(next service.Publisher) service.Publisher {
	return teePublisher{next: next, feed: f}
}

// Close ends every stream, as the server shuts down.
func (f *ViolationFeed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	for s := range f.subs {
		close(s.done)
	}
	f.subs = nil
}

// Clients returns the number of connected stream clients.
func (f *ViolationFeed) Clients() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

type teePublisher struct {
	next service.Publisher
	feed *ViolationFeed
}

func (t teePublisher) Publish(topic string, payload []byte, retain bool, qos byte) error {
	if err := t.next.Publish(topic, payload, retain, qos); err != nil {
		return err
	}
	if strings.HasPrefix(topic, proto.ViolationsRoot+"/") {
		t.feed.publish(payload)
	}
	return nil
}

// MayHaveSubscribers asks the publisher behind, when it can tell; the
// stream wants only violation messages.
func (t teePublisher) MayHaveSubscribers(topic string) bool {
	if a, ok := t.next.(service.Audience); ok && !strings.HasPrefix(topic, proto.ViolationsRoot+"/") {
		return a.MayHaveSubscribers(topic)
	}
	return true
}

// publish sends one violation message to the clients that want it; a
// client whose buffer is full loses it and is told so.
func (f *ViolationFeed) publish(payload []byte) {
	var ev proto.ViolationEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return // not an event of ours
	}
	data, err := json.Marshal(toEventOut(ev))
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		if (s.profile != "" && s.profile != ev.SecurityProfileName) || (s.thing != "" && s.thing != ev.ThingName) {
			continue
		}
		select {
		case s.events <- data:
		default:
			select {
			case s.lost <- struct{}{}:
			default:
			}
		}
	}
}

func (f *ViolationFeed) subscribe(profile, thing string) (*subscriber, bool) {
	s := &subscriber{profile: profile, thing: thing, events: make(chan []byte, streamBuffer),
		lost: make(chan struct{}, 1), done: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, false
	}
	f.subs[s] = struct{}{}
	return s, true
}

func (f *ViolationFeed) unsubscribe(s *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, s)
}

// streamRoutes registers the event stream when the API has a feed.
func (s *server) streamRoutes() {
	if s.feed != nil {
		s.handle("GET /api/violation-events/stream", s.streamViolationEvents)
	}
}

// streamViolationEvents serves the violation events as they happen, as
// server-sent events: each "violation" event's data is one item of
// ListViolationEvents. A "lost" event says that events were dropped
// because the client read too slowly: list them again to catch up. The
// optional securityProfileName and thingName parameters filter the stream.
func (s *server) streamViolationEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	sub, ok := s.feed.subscribe(q.Get("securityProfileName"), q.Get("thingName"))
	if !ok {
		return &Error{Status: http.StatusServiceUnavailable, Type: ServiceUnavailable, Message: "the server is shutting down"}
	}
	defer s.feed.unsubscribe(sub)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n: connected\n\n"); err != nil {
		return nil
	}
	heartbeat := time.NewTicker(streamHeartbeat)
	defer heartbeat.Stop()
	for {
		var err error
		if err = rc.Flush(); err != nil {
			return nil // the client has gone
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-sub.done:
			return nil
		case data := <-sub.events:
			_, err = fmt.Fprintf(w, "event: violation\ndata: %s\n\n", data)
		case <-sub.lost:
			_, err = fmt.Fprint(w, "event: lost\ndata: {}\n\n")
		case <-heartbeat.C:
			_, err = fmt.Fprint(w, ": heartbeat\n\n")
		}
		if err != nil {
			return nil
		}
	}
}
