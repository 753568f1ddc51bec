package api

import (
	"encoding/json"
	"testing"

	"github.com/vigil-iot/vigil/proto"
)

type discard struct{}

func (discard) Publish(string, []byte, bool, byte) error { return nil }

// TestFeedLost checks that a client that does not read loses events beyond
// its buffer, is told so once, and keeps the first ones; and that only
// violation topics reach the feed.
func TestFeedLost(t *testing.T) {
	f := NewViolationFeed()
	slow, _ := f.subscribe("", "")
	pub := f.Tee(discard{})
	payload, _ := json.Marshal(proto.ViolationEvent{ViolationID: "v", ThingName: "cam-1", SecurityProfileName: "p", ViolationEventType: proto.InAlarm})
	if err := pub.Publish(proto.ActiveViolationTopic("p", "cam-1", "b"), payload, true, 1); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("$aws/things/cam-1/defender/metrics/json/accepted", []byte(`{}`), false, 1); err != nil {
		t.Fatal(err)
	}
	if len(slow.events) != 0 {
		t.Fatalf("%d events from topics that are not violation events", len(slow.events))
	}
	for range streamBuffer + 10 {
		if err := pub.Publish(proto.ViolationTopic("p", "cam-1"), payload, false, 1); err != nil {
			t.Fatal(err)
		}
	}
	if len(slow.events) != streamBuffer || len(slow.lost) != 1 {
		t.Errorf("buffered %d, lost signals %d; want %d and 1", len(slow.events), len(slow.lost), streamBuffer)
	}
	if err := pub.Publish(proto.ViolationTopic("p", "cam-1"), []byte("not json"), false, 1); err != nil {
		t.Errorf("a payload that is not an event must still be published: %v", err)
	}
	f.Close()
	f.Close() // twice is harmless
	if _, ok := f.subscribe("", ""); ok {
		t.Error("subscribed after close")
	}
}
