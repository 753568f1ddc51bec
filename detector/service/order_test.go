package service_test

import (
	"sync"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/proto"
)

// gate holds the first publish to one topic until released, as a slow
// broker would.
type gate struct {
	*publisher
	topic   string
	held    chan struct{} // closed when the publish is held
	release chan struct{}
	once    sync.Once
}

func (g *gate) Publish(topic string, payload []byte, retain bool, qos byte) error {
	if topic == g.topic {
		first := false
		g.once.Do(func() { first = true })
		if first {
			close(g.held)
			<-g.release
		}
	}
	return g.publisher.Publish(topic, payload, retain, qos)
}

// TestOutboxOrderAcrossFlushes holds the publish of an alarm's active
// violation while a registry change invalidates the alarm: the clear of
// the retained message must still come after it, or the broker keeps an
// alarm that has ended.
func TestOutboxOrderAcrossFlushes(t *testing.T) {
	activeTopic := proto.ActiveViolationTopic("p", "door-1", "ports")
	g := &gate{topic: activeTopic, held: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(o *service.Options) {
		g.publisher = o.Publisher.(*publisher)
		o.Publisher = g
	})
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.report("door-1", portsReport(1, 5))
	select {
	case <-g.held:
	case <-time.After(waitLimit):
		t.Fatal("the active violation was never published")
	}
	detached := make(chan error, 1)
	go func() { detached <- e.svc.Detach("p", registry.AllThings) }()
	// Give the detach time to publish ahead of the held message if the
	// service lets it; then let the held publish go.
	select {
	case err := <-detached:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(200 * time.Millisecond):
	}
	close(g.release)
	msgs := e.active("p", "door-1", "ports", 2)
	if last := msgs[len(msgs)-1]; len(last.Payload) != 0 {
		t.Errorf("the retained active violation ends as %q, want the empty clear", last.Payload)
	}
	events := e.events("p", "door-1", 2)
	if events[0].ViolationEventType != proto.InAlarm || events[1].ViolationEventType != proto.AlarmInvalidated {
		t.Errorf("events in the order %s, want in-alarm then alarm-invalidated", eventTypes(events))
	}
}
