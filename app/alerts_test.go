package app

import (
	"cmp"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/alert"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/internal/fakeclock"
	"github.com/vigil-iot/vigil/proto"
)

const webhookSecret = "acceptance-test-secret"

// The states of the webhook receiver.
const (
	receiverUp      = iota
	receiverFailing // answers 503
	receiverClosed  // refuses connections
)

// received is one request the webhook receiver got.
type received struct {
	key     string
	attempt int
	event   proto.ViolationEvent
	signed  bool
	status  int
}

// webhookReceiver is a real HTTP server that can fail, close and come back
// on the same address.
type webhookReceiver struct {
	t     *testing.T
	addr  string
	mu    sync.Mutex
	state int
	got   []received
	srv   *http.Server
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &webhookReceiver{t: t, addr: ln.Addr().String()}
	w.serve(ln)
	t.Cleanup(func() { w.close() })
	return w
}

func (w *webhookReceiver) serve(ln net.Listener) {
	w.srv = &http.Server{Handler: w, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
}

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{key: r.Header.Get(alert.IdempotencyHeader), signed: alert.Verify(webhookSecret, body, r.Header.Get(alert.SignatureHeader))}
	rec.attempt, _ = strconv.Atoi(r.Header.Get(alert.AttemptHeader))
	if err := json.Unmarshal(body, &rec.event); err != nil {
		w.t.Errorf("webhook body %q: %v", body, err)
	}
	w.mu.Lock()
	rec.status = http.StatusOK
	if w.state == receiverFailing {
		rec.status = http.StatusServiceUnavailable
	}
	w.got = append(w.got, rec)
	w.mu.Unlock()
	rw.WriteHeader(rec.status)
}

func (w *webhookReceiver) setState(s int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.state = s
}

// close stops listening: connections are refused.
func (w *webhookReceiver) close() {
	w.setState(receiverClosed)
	_ = w.srv.Close()
}

// reopen listens again on the same address.
func (w *webhookReceiver) reopen() {
	w.t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", w.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		w.t.Fatalf("listen again on %s: %v", w.addr, err)
	}
	w.setState(receiverUp)
	w.serve(ln)
}

func (w *webhookReceiver) requests() []received {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// delivered returns the keys answered 200, with how often each was.
func (w *webhookReceiver) delivered() map[string]int {
	out := map[string]int{}
	for _, r := range w.requests() {
		if r.status == http.StatusOK {
			out[r.key]++
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// portsProfile alarms when a thing listens on more than 5 TCP ports, and
// clears at once when it no longer does.
func portsProfile(targets map[string]registry.AlertTarget) registry.Profile {
	one := 1
	return registry.Profile{Name: "scanners", AlertTargets: targets, Behaviors: []proto.Behavior{{
		Name: "few-ports", Metric: "aws:num-listening-tcp-ports", Criteria: &proto.BehaviorCriteria{
			ComparisonOperator: "less-than-equals", Value: &proto.MetricValue{Count: proto.Count(5)},
			ConsecutiveDatapointsToAlarm: &one, ConsecutiveDatapointsToClear: &one}}}}
}

// portsReport is a report at time at listing n TCP ports.
func portsReport(t *testing.T, at time.Time, n int) []byte {
	t.Helper()
	ports := make([]proto.Port, n)
	for i := range ports {
		ports[i] = proto.Port{Port: uint16(8000 + i)}
	}
	r := &proto.Report{Header: proto.Header{ReportID: at.UnixMilli(), Version: proto.CurrentVersion},
		Metrics: &proto.Metrics{ListeningTCPPorts: &proto.PortList{Ports: ports}}}
	data, err := proto.Encode(r, proto.JSON, proto.LongKeys)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestWebhookSurvivesOutageAndRestart is the delivery guarantee end to
// end: the receiver answers 503, then refuses connections, for more than
// ten simulated minutes (and, again, an hour); Vigil is restarted in between, with deliveries
// queued and more events raised while the receiver is still down. Every
// event then arrives, once per idempotency key, signed, in order per thing.
// The clock is simulated so that the real delivery loop runs through the
// backoff in seconds.
func TestWebhookSurvivesOutageAndRestart(t *testing.T) {
	for _, outage := range []time.Duration{10 * time.Minute, time.Hour} {
		t.Run(outage.String(), func(t *testing.T) { testWebhookOutage(t, outage) })
	}
}

func testWebhookOutage(t *testing.T, outage time.Duration) {
	clock := fakeclock.New(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	rcv := newWebhookReceiver(t)
	startApp := func() *App {
		a, err := Start(Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: dir, AllowAnonymous: true,
			ReportTime: true, Now: clock.Now, AlertClock: clock, Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := startApp()
	defer func() { a.Close() }()
	p := portsProfile(map[string]registry.AlertTarget{registry.AlertWebhook: {URL: "http://" + rcv.addr + "/vigil", Secret: webhookSecret}})
	if _, err := a.Service().CreateProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := a.Service().Attach(p.Name, registry.AllThings); err != nil {
		t.Fatal(err)
	}
	things := []string{"scanner-1", "scanner-2", "scanner-3"}
	reportTime := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	round := func(a *App, ports int) {
		reportTime = reportTime.Add(time.Minute)
		for _, th := range things {
			a.Service().HandleReport("$vigil/things/"+th+"/defender/metrics/json", portsReport(t, reportTime, ports), "")
		}
	}
	// Up: the first alarms go through at once.
	round(a, 9)
	waitUntil(t, "the first 3 deliveries", 10*time.Second, func() bool { return len(rcv.delivered()) == 3 })
	// Down: 503 while the alarms clear, then connections refused.
	downAt := clock.Now()
	rcv.setState(receiverFailing)
	round(a, 1)
	waitUntil(t, "503 answers", 10*time.Second, func() bool { return len(rcv.requests()) >= 6 })
	rcv.close()
	// Restart with deliveries queued; more events while still down.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = startApp()
	round(a, 12)
	round(a, 2)
	waitUntil(t, outage.String()+" of simulated outage", 20*time.Second, func() bool { return clock.Now().Sub(downAt) > outage })
	rcv.reopen()
	waitUntil(t, "12 events delivered", 20*time.Second, func() bool { return len(rcv.delivered()) == 12 })

	events, _, err := a.Service().ViolationEvents(reportTime.Add(-time.Hour), reportTime.Add(time.Hour), service.ViolationFilter{}, "", 0)
	if err != nil || len(events) != 12 {
		t.Fatalf("violation records: %d (%v), want 12", len(events), err)
	}
	checkDeliveries(t, rcv, events)
	// After the restart, the receiver only refused connections: the failed
	// attempts the metrics count are those.
	refused := metricValue(t, a, `vigil_alert_webhook_attempts_total{result="failed"}`)
	if refused == 0 {
		t.Errorf("no failed attempt after the restart; the closed receiver was not exercised")
	}
	t.Logf("outage of %v simulated; %d requests received, %v connections refused after the restart",
		clock.Now().Sub(downAt).Round(time.Second), len(rcv.requests()), refused)
}

// checkDeliveries checks that every event arrived exactly once per key,
// signed, and in order per thing.
func checkDeliveries(t *testing.T, rcv *webhookReceiver, events []service.EventRecord) {
	t.Helper()
	want := map[string][]string{} // thing -> keys in event order
	slices.SortStableFunc(events, func(x, y service.EventRecord) int {
		return cmp.Compare(x.ViolationEventTime, y.ViolationEventTime)
	})
	for _, ev := range events {
		want[ev.ThingName] = append(want[ev.ThingName], service.DeliveryKey(ev.ViolationID, ev.ViolationEventType))
	}
	got := map[string][]string{}
	refused := map[string]int{} // 503 answers per key, all before the restart
	failed, retried := 0, 0
	for _, r := range rcv.requests() {
		if !r.signed {
			t.Errorf("delivery %s: bad signature", r.key)
		}
		if r.key != service.DeliveryKey(r.event.ViolationID, r.event.ViolationEventType) {
			t.Errorf("delivery key %q does not name its event %s %s", r.key, r.event.ViolationID, r.event.ViolationEventType)
		}
		if r.status != http.StatusOK {
			failed++
			refused[r.key]++
			continue
		}
		if r.attempt <= refused[r.key] {
			t.Errorf("%s delivered at attempt %d after %d refusals: the count was lost in the restart", r.key, r.attempt, refused[r.key])
		}
		if r.attempt > 1 {
			retried++
		}
		got[r.event.ThingName] = append(got[r.event.ThingName], r.key)
	}
	for thing, keys := range want {
		if !slices.Equal(got[thing], keys) {
			t.Errorf("%s received\n  %s\nwant, once each and in order,\n  %s", thing, strings.Join(got[thing], " "), strings.Join(keys, " "))
		}
	}
	if failed == 0 || retried == 0 {
		t.Errorf("%d deliveries answered 503 and %d delivered after retries; the outage was not exercised", failed, retried)
	}
}

// metricValue reads one series from the app's /metrics.
func metricValue(t *testing.T, a *App, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", series)
	return 0
}
