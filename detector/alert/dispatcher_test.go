package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/internal/fakeclock"
)

const secret = "a webhook secret"

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// arrival is one request a receiver got.
type arrival struct {
	key     string
	thing   string
	attempt int
	signed  bool
	status  int
}

// receiver is a webhook endpoint that records what it gets and answers
// with the status status(key, attempt) chooses (0 means 200).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []arrival
	status func(key string, attempt int) int
}

func newReceiver(t *testing.T, status func(key string, attempt int) int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var ev struct {
		ThingName string `json:"thingName"`
	}
	_ = json.Unmarshal(body, &ev)
	a := arrival{key: req.Header.Get(DeliveryHeader), thing: ev.ThingName,
		signed: Verify(secret, body, req.Header.Get(SignatureHeader)) && req.Header.Get(IdempotencyHeader) == req.Header.Get(DeliveryHeader)}
	a.attempt, _ = strconv.Atoi(req.Header.Get(AttemptHeader))
	r.mu.Lock()
	if r.status != nil {
		a.status = r.status(a.key, a.attempt)
	}
	r.got = append(r.got, a)
	r.mu.Unlock()
	if a.status != 0 {
		w.WriteHeader(a.status)
	}
}

// delivered lists the keys answered with success, in arrival order.
func (r *receiver) delivered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for _, a := range r.got {
		if a.status == 0 {
			keys = append(keys, a.key)
		}
	}
	return keys
}

func (r *receiver) arrivals() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// fixture runs a Dispatcher on a store with a fake clock.
type fixture struct {
	t      *testing.T
	db     *store.DB
	clock  *fakeclock.Clock
	hooks  sync.Map // profile -> Webhook
	opts   Options
	d      *Dispatcher
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{}
}

func newFixture(t *testing.T, tweak func(*Options)) *fixture {
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, db: db, clock: fakeclock.New(start)}
	f.opts = Options{DB: db, Clock: f.clock, Logger: zerolog.Nop(), Jitter: func() float64 { return 0.5 },
		Lookup: func(p string) (Webhook, bool) {
			h, ok := f.hooks.Load(p)
			if !ok {
				return Webhook{}, false
			}
			return h.(Webhook), true
		}}
	if tweak != nil {
		tweak(&f.opts)
	}
	return f
}

// open makes the Dispatcher, as a (re)started process does.
func (f *fixture) open() *Dispatcher {
	f.t.Helper()
	opts := f.opts
	f.reg = prometheus.NewRegistry()
	opts.Registerer = f.reg
	d, err := New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	f.d = d
	return d
}

func (f *fixture) run() {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		_ = f.d.Run(ctx)
	}()
	f.t.Cleanup(f.stop)
}

func (f *fixture) stop() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}

// stage commits the deliveries of events named thing-n (n from 1) of the
// given things, n events each, interleaved.
func (f *fixture) stage(profile string, things []string, n int) {
	f.t.Helper()
	b := f.db.NewBatch()
	for i := 1; i <= n; i++ {
		for _, thing := range things {
			key := fmt.Sprintf("%s-%d", thing, i)
			f.d.Stage(b, profile, thing, key, fmt.Appendf(nil, `{"thingName":%q,"n":%d}`, thing, i))
		}
	}
	if err := f.db.Commit(b); err != nil {
		f.t.Fatal(err)
	}
	f.d.Committed()
}

// stored counts the deliveries left in the store.
func (f *fixture) stored() []record {
	var out []record
	err := f.db.ScanAlerts(0, func(_ uint64, data []byte) error {
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// byThing splits keys "thing-n" by thing, keeping their order.
func byThing(keys []string) map[string][]string {
	out := map[string][]string{}
	for _, k := range keys {
		thing := k[:len(k)-len(k[lastDash(k):])]
		out[thing] = append(out[thing], k)
	}
	return out
}

func lastDash(k string) int {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == '-' {
			return i
		}
	}
	return 0
}

func keys(thing string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s-%d", thing, i))
	}
	return out
}

// TestDeliversInOrderPerThing delivers every event once, signed, in order
// per thing, and empties the store and the queue gauge.
func TestDeliversInOrderPerThing(t *testing.T) {
	f := newFixture(t, nil)
	rcv := newReceiver(t, nil)
	f.hooks.Store("p", Webhook{URL: rcv.srv.URL, Secret: secret})
	f.open()
	f.run()
	things := []string{"a", "b", "c"}
	f.stage("p", things, 5)
	eventually(t, "15 deliveries", func() bool { return len(rcv.delivered()) == 15 })
	got := byThing(rcv.delivered())
	for _, th := range things {
		if want := keys(th, 1, 5); !slices.Equal(got[th], want) {
			t.Errorf("thing %s: got %v, want %v", th, got[th], want)
		}
	}
	for _, a := range rcv.arrivals() {
		if !a.signed || a.attempt != 1 || a.key != a.thing+a.key[lastDash(a.key):] {
			t.Errorf("arrival %+v: want signed, first attempt, key of its thing", a)
		}
	}
	eventually(t, "an empty store", func() bool { return len(f.stored()) == 0 })
	if n := f.metric("vigil_alert_webhook_attempts_total", "delivered"); n != 15 {
		t.Errorf("delivered attempts counted %v, want 15", n)
	}
	f.stop()
	if n := f.series("vigil_alert_webhook_pending"); n != 0 {
		t.Errorf("queue gauge has %d series after the queue emptied, want none", n)
	}
}

// TestFailingThingHoldsOnlyItsOwn: a receiver that refuses a's first event
// three times holds back a's later events, not b's; a's events then arrive
// in order.
func TestFailingThingHoldsOnlyItsOwn(t *testing.T) {
	f := newFixture(t, nil)
	rcv := newReceiver(t, func(key string, attempt int) int {
		if key == "a-1" && attempt <= 3 {
			return http.StatusInternalServerError
		}
		return 0
	})
	f.hooks.Store("p", Webhook{URL: rcv.srv.URL, Secret: secret})
	f.open()
	f.run()
	f.stage("p", []string{"a", "b"}, 3)
	eventually(t, "6 deliveries", func() bool { return len(rcv.delivered()) == 6 })
	got := byThing(rcv.delivered())
	if !slices.Equal(got["a"], keys("a", 1, 3)) || !slices.Equal(got["b"], keys("b", 1, 3)) {
		t.Fatalf("deliveries %v: want each thing's in order", rcv.delivered())
	}
	var aAttempts []int
	for _, a := range rcv.arrivals() {
		switch {
		case a.key == "a-1":
			aAttempts = append(aAttempts, a.attempt)
		case a.thing == "b" && a.attempt != 1:
			t.Errorf("%s needed attempt %d: b was held back by a", a.key, a.attempt)
		}
	}
	if !slices.Equal(aAttempts, []int{1, 2, 3, 4}) {
		t.Errorf("a-1 attempts %v, want 1 to 4", aAttempts)
	}
	first := slices.Index(rcv.delivered(), "a-1")
	for _, a := range rcv.arrivals()[:slices.IndexFunc(rcv.arrivals(), func(a arrival) bool { return a.key == "a-1" && a.status == 0 })] {
		if a.key == "a-2" || a.key == "a-3" {
			t.Errorf("%s arrived before a-1 was delivered (at %d)", a.key, first)
		}
	}
}

// TestRestartResumesSchedule stops a dispatcher whose receiver is down and
// starts another on the same store: the attempt count carries on, and
// nothing is lost or reordered.
func TestRestartResumesSchedule(t *testing.T) {
	f := newFixture(t, nil)
	var down sync.Map
	down.Store("down", true)
	rcv := newReceiver(t, func(string, int) int {
		if v, _ := down.Load("down"); v.(bool) {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	f.hooks.Store("p", Webhook{URL: rcv.srv.URL, Secret: secret})
	f.open()
	f.run()
	f.stage("p", []string{"a"}, 3)
	eventually(t, "three failed attempts", func() bool { return len(rcv.arrivals()) >= 3 })
	f.stop()
	stored := f.stored()
	if len(stored) != 3 || stored[0].Attempts < 3 || stored[0].NextAttempt.IsZero() || stored[0].LastError == "" {
		t.Fatalf("stored after the stop: %+v; want 3 deliveries, the first with its attempts and next attempt", stored)
	}
	attempts := stored[0].Attempts
	down.Store("down", false)
	f.open()
	f.run()
	eventually(t, "3 deliveries", func() bool { return len(rcv.delivered()) == 3 })
	if got := rcv.delivered(); !slices.Equal(got, keys("a", 1, 3)) {
		t.Fatalf("delivered %v, want a-1 to a-3", got)
	}
	var last arrival
	for _, a := range rcv.arrivals() {
		if a.key == "a-1" {
			last = a
		}
	}
	if last.attempt != attempts+1 {
		t.Errorf("a-1 delivered at attempt %d, want %d: the count carries over the restart", last.attempt, attempts+1)
	}
}

// TestDrops covers the deliveries given up: past MaxPending (the oldest
// go), past MaxAge, and those of a profile whose webhook was removed.
func TestDrops(t *testing.T) {
	t.Run("overflow", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.MaxPending = 3 })
		rcv := newReceiver(t, nil)
		f.hooks.Store("p", Webhook{URL: rcv.srv.URL, Secret: secret})
		f.open()
		f.stage("p", []string{"a"}, 5) // not running: the queue fills
		f.open()                       // a restart reads the store and keeps the newest three
		if n := f.metric("vigil_alert_webhook_dropped_total", dropOverflow); n != 2 {
			t.Errorf("overflow drops %v, want 2", n)
		}
		f.run()
		eventually(t, "3 deliveries", func() bool { return len(rcv.delivered()) == 3 })
		if got := rcv.delivered(); !slices.Equal(got, keys("a", 3, 5)) {
			t.Errorf("delivered %v, want the newest three", got)
		}
	})
	t.Run("expired", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.MaxAge = time.Hour })
		rcv := newReceiver(t, nil)
		f.hooks.Store("p", Webhook{URL: rcv.srv.URL, Secret: secret})
		f.open()
		f.stage("p", []string{"a"}, 1)
		f.clock.Advance(61 * time.Minute)
		f.stage("p", []string{"b"}, 1)
		f.run()
		eventually(t, "b-1", func() bool { return len(rcv.delivered()) == 1 })
		eventually(t, "an empty store", func() bool { return len(f.stored()) == 0 })
		if got := rcv.delivered(); got[0] != "b-1" {
			t.Errorf("delivered %v, want only b-1", got)
		}
		if n := f.metric("vigil_alert_webhook_dropped_total", dropExpired); n != 1 {
			t.Errorf("expired drops %v, want 1", n)
		}
	})
	t.Run("target removed", func(t *testing.T) {
		f := newFixture(t, nil)
		f.open()
		f.stage("gone", []string{"a", "b"}, 2)
		f.run()
		eventually(t, "an empty store", func() bool { return len(f.stored()) == 0 })
		if n := f.metric("vigil_alert_webhook_dropped_total", dropRemoved); n != 4 {
			t.Errorf("target-removed drops %v, want 4", n)
		}
	})
}

// TestNewNeedsStoreAndLookup names what is missing.
func TestNewNeedsStoreAndLookup(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without DB and Lookup succeeded")
	}
}

// values gathers the values of a metric's series by their first label's
// value (counters and gauges).
func (f *fixture) values(name string) map[string]float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return out
}

// metric is the value of a series with one label of the given value.
func (f *fixture) metric(name, label string) float64 { return f.values(name)[label] }

// series counts the series of a metric.
func (f *fixture) series(name string) int { return len(f.values(name)) }

// TestRecoveryMakesQueueDue: once a receiver that was down takes a
// delivery, the deliveries that were waiting out their own backoff are due
// at once; after a single refusal (a receiver that refuses one delivery,
// not one that is down), they keep their backoff.
func TestRecoveryMakesQueueDue(t *testing.T) {
	for _, tt := range []struct {
		failures int
		wantDue  bool
	}{{1, false}, {2, true}, {7, true}} {
		t.Run(fmt.Sprint(tt.failures), func(t *testing.T) {
			f := newFixture(t, nil)
			f.open()
			f.stage("p", []string{"a", "b", "c"}, 1)
			if err := f.d.load(); err != nil {
				t.Fatal(err)
			}
			tg := f.d.targets["p"]
			now := f.clock.Now()
			for _, thing := range []string{"b", "c"} {
				e := tg.lanes[thing].head()
				e.Attempts, e.NextAttempt = 9, now.Add(4*time.Minute)
			}
			a := tg.lanes["a"]
			f.d.start(context.Background(), tg, a, Webhook{URL: "http://127.0.0.1:1/unused"}, now)
			<-f.d.results // the real attempt fails; the test decides the outcome below
			tg.failures = tt.failures
			f.d.finish(result{target: tg, lane: a}, false)
			for _, thing := range []string{"b", "c"} {
				if due := !tg.lanes[thing].head().due().After(now); due != tt.wantDue {
					t.Errorf("after %d failures and a success, %s due now: %v, want %v", tt.failures, thing, due, tt.wantDue)
				}
			}
			if next := tg.idle[0].head(); next.Thing != "b" {
				t.Errorf("next lane %s, want b, queued before c", next.Thing)
			}
		})
	}
}
