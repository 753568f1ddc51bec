package broker_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/broker"
	"github.com/vigil-iot/vigil/internal/fakeclock"
	"github.com/vigil-iot/vigil/proto"
)

// waitStats polls a thing's counts until cond holds.
func waitStats(t *testing.T, b *broker.Broker, thing string, cond func(broker.ThingStats) bool) broker.ThingStats {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		s := b.Stats(thing)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("Stats(%s) = %+v: condition never held", thing, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBrokerSideCounts follows one device through two connections: its
// messages both ways, a denied publish, a disconnect, and the counts of
// topic-filter dimensions, with and without the client id variable.
func TestBrokerSideCounts(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	b := start(t, broker.Options{Auth: testAuth(t), Now: clock.Now})
	dims := []broker.Dimension{
		{Name: "own-reports", Filters: []string{"$vigil/things/" + broker.ClientIDVariable + "/defender/metrics/#"}},
		{Name: "any-json", Filters: []string{"$vigil/things/+/defender/metrics/json"}},
		{Name: "replies", Filters: []string{"$vigil/things/+/defender/metrics/json/+", "nothing/#"}},
	}
	if err := b.SetDimensions(dims); err != nil {
		t.Fatal(err)
	}
	pc := mustDial(t, b, deviceD1)
	own := proto.ReportTopic{Root: proto.RootVigil, Thing: "d1", Format: proto.JSON}
	_, replies := subscribeTCP(t, pc, proto.ThingReplyFilter(own.Root, own.Thing, own.Format))
	for range 2 {
		done(t, pc.Publish(own.String(), 1, false, "0123456789"))
	}
	done(t, pc.Publish("$vigil/things/d2/defender/metrics/json", 1, false, "abc"))
	if err := b.Publish(own.ReplyTopic(proto.Accepted).String(), []byte("ok"), false, 1); err != nil {
		t.Fatal(err)
	}
	receive(t, replies)
	barrier(t, pc)
	clock.Set(clock.Now().Add(time.Minute))
	pc.Disconnect(0)
	waitStats(t, b, "d1", func(s broker.ThingStats) bool { return s.Disconnects == 1 })
	clock.Set(clock.Now().Add(time.Minute))
	mustDial(t, b, deviceD1)

	s := waitStats(t, b, "d1", func(s broker.ThingStats) bool { return s.Connected() })
	if s.ConnectionAttempts != 2 || s.AuthorizationFailures != 1 || s.Disconnects != 1 || s.MessagesSent != 3 ||
		s.BytesSent != 23 || s.MessagesReceived != 1 || s.Role != broker.RoleDevice {
		t.Errorf("counts %+v, want 2 attempts, 1 failure, 1 disconnect, 3 sent of 23 bytes, 1 received", s)
	}
	if s.LargestMessage != 10 || s.SmallestMessage != 3 {
		t.Errorf("message sizes from %d to %d, want 3 to 10", s.SmallestMessage, s.LargestMessage)
	}
	b.EachStatsRestartingSizes(func(thing string, got broker.ThingStats) {
		if thing == "d1" && (got.LargestMessage != 10 || got.SmallestMessage != 3) {
			t.Errorf("restarting: sizes from %d to %d, want 3 to 10", got.SmallestMessage, got.LargestMessage)
		}
	})
	if got := b.Stats("d1"); got.LargestMessage != 0 || got.SmallestMessage != 0 {
		t.Errorf("after a restart, sizes from %d to %d, want none", got.SmallestMessage, got.LargestMessage)
	}
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	local := netip.MustParseAddr("127.0.0.1")
	want := []broker.Connection{{Addr: local, Start: start, End: start.Add(time.Minute)}, {Addr: local, Start: start.Add(2 * time.Minute)}}
	if len(s.Connections) != 2 || s.Connections[0] != want[0] || s.Connections[1] != want[1] {
		t.Errorf("connections %+v, want %+v", s.Connections, want)
	}
	wantDims := []broker.DimensionStats{
		{Name: "own-reports", MessagesSent: 2, BytesSent: 20, MessagesReceived: 1},
		{Name: "any-json", MessagesSent: 3, BytesSent: 23, AuthorizationFailures: 1},
		{Name: "replies", MessagesReceived: 1},
	}
	checkDims(t, s.Dimensions, wantDims)

	// Unchanged dimensions keep counting; a changed one starts again.
	dims[2].Filters = []string{"$vigil/things/+/defender/metrics/json/accepted"}
	if err := b.SetDimensions(dims); err != nil {
		t.Fatal(err)
	}
	wantDims[2] = broker.DimensionStats{Name: "replies"}
	after := b.Stats("d1")
	checkDims(t, after.Dimensions, wantDims)
	if after.Dimensions[0].Generation != s.Dimensions[0].Generation || after.Dimensions[2].Generation == s.Dimensions[2].Generation {
		t.Errorf("generations %+v then %+v: only the changed dimension should have a new one", s.Dimensions, after.Dimensions)
	}
}

func checkDims(t *testing.T, got, want []broker.DimensionStats) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("dimensions %+v, want %+v", got, want)
	}
	for i := range got {
		g := got[i]
		g.Generation = 0
		if g != want[i] {
			t.Errorf("dimension %d: %+v, want %+v", i, g, want[i])
		}
	}
}

func TestSetDimensionsRefusesBadFilters(t *testing.T) {
	b := start(t, broker.Options{AllowAnonymous: true})
	for _, f := range []string{"", "a/#/b", "a/b+", "a/${iot:ThingName}", "a/x${iot:ClientId}"} {
		if err := b.SetDimensions([]broker.Dimension{{Name: "d", Filters: []string{f}}}); err == nil {
			t.Errorf("filter %q accepted", f)
		}
	}
	if err := b.SetDimensions([]broker.Dimension{{Name: "d"}}); err == nil {
		t.Error("a dimension without filters accepted")
	}
}
