package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/internal/fakeclock"
)

// t0 is the service clock at the start of each test; its milliseconds make
// the seconds-with-fraction conversion visible.
var t0 = time.Date(2024, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

// message is one message the service published.
type message struct {
	Topic   string
	Payload []byte
	Retain  bool
}

// publisher records what the service publishes, so that tests can wait for
// replies.
type publisher struct {
	mu      sync.Mutex
	msgs    []message
	changed chan struct{}
}

func newPublisher() *publisher { return &publisher{changed: make(chan struct{})} }

func (p *publisher) Publish(topic string, payload []byte, retain bool, _ byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, message{Topic: topic, Payload: bytes.Clone(payload), Retain: retain})
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

// waitFor waits until n messages have been published on topic and returns
// them.
func (p *publisher) waitFor(t *testing.T, topic string, n int) []message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		var got []message
		for _, m := range p.msgs {
			if m.Topic == topic {
				got = append(got, m)
			}
		}
		changed := p.changed
		p.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %d messages on %s; have %d", n, topic, len(got))
		}
	}
}

// env is a running detector with its API on a test server.
type env struct {
	t     *testing.T
	url   string
	svc   *service.Service
	pub   *publisher
	clock *fakeclock.Clock
	sent  map[string]int // accepted reports per thing
	feed  *api.ViolationFeed
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Load(db)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pub: newPublisher(), clock: fakeclock.New(t0), sent: map[string]int{}, feed: api.NewViolationFeed()}
	metrics := prometheus.NewRegistry()
	e.svc, err = service.New(service.Options{DB: db, Registry: reg, Publisher: e.feed.Tee(e.pub), Logger: zerolog.Nop(),
		Now: e.clock.Now, Registerer: metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.svc.Run(ctx)
	}()
	srv := httptest.NewServer(api.New(api.Options{Service: e.svc, Logger: zerolog.Nop(), Gatherer: metrics, Feed: e.feed}))
	e.url = srv.URL
	t.Cleanup(func() {
		e.feed.Close()
		srv.Close()
		cancel()
		<-done
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// response is an API answer.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// errType is the AWS error type of an error answer.
func (r response) errType() string { return r.Header.Get("x-amzn-ErrorType") }

// message is the message of an error answer.
func (r response) message() string { s, _ := r.Body["message"].(string); return s }

// call sends a request; body is raw JSON text, or "" for none.
func (e *env) call(method, path, body string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			e.t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

// must sends a request that must succeed and returns the answer.
func (e *env) must(method, path, body string) response {
	e.t.Helper()
	r := e.call(method, path, body)
	if r.Status != http.StatusOK {
		e.t.Fatalf("%s %s: status %d: %s", method, path, r.Status, r.Raw)
	}
	return r
}

// report publishes a metrics report listing TCP ports for a thing and
// waits until it is accepted.
func (e *env) report(thing string, ports ...int) {
	e.t.Helper()
	e.sent[thing]++
	entries := make([]string, len(ports))
	for i, p := range ports {
		entries[i] = fmt.Sprintf(`{"port":%d}`, p)
	}
	payload := fmt.Sprintf(`{"header":{"report_id":%d,"version":"1.0"},"metrics":{"listening_tcp_ports":{"ports":[%s],"total":%d}}}`,
		e.sent[thing], strings.Join(entries, ","), len(ports))
	topic := "$vigil/things/" + thing + "/defender/metrics/json"
	e.svc.HandleReport(topic, []byte(payload), "")
	got := e.pub.waitFor(e.t, topic+"/accepted", e.sent[thing])
	if len(got) != e.sent[thing] {
		e.t.Fatalf("report %d of %s: %d accepted replies", e.sent[thing], thing, len(got))
	}
}

// step is one request of a table test and what it must answer.
type step struct {
	name    string
	method  string
	path    string
	body    string
	status  int
	errType string
	// contains are substrings the answer must hold.
	contains []string
	check    func(t *testing.T, r response)
}

// run sends the steps in order, each as a subtest.
func (e *env) run(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := e.call(s.method, s.path, s.body)
			if r.Status != s.status {
				t.Fatalf("%s %s: status %d, want %d: %s", s.method, s.path, r.Status, s.status, r.Raw)
			}
			if r.errType() != s.errType {
				t.Errorf("x-amzn-ErrorType %q, want %q (%s)", r.errType(), s.errType, r.Raw)
			}
			if s.errType != "" && r.message() == "" {
				t.Errorf("error without a message: %s", r.Raw)
			}
			for _, c := range s.contains {
				if !strings.Contains(string(r.Raw), c) {
					t.Errorf("answer lacks %q: %s", c, r.Raw)
				}
			}
			if s.check != nil {
				s.check(t, r)
			}
		})
	}
}

// list returns a JSON array from an answer.
func list(t *testing.T, r response, key string) []any {
	t.Helper()
	v, ok := r.Body[key].([]any)
	if !ok {
		t.Fatalf("answer has no array %q: %s", key, r.Raw)
	}
	return v
}

// field returns a string member of a JSON object.
func field(v any, key string) string {
	m, _ := v.(map[string]any)
	s, _ := m[key].(string)
	return s
}

// sameJSON reports whether two values encode to the same JSON document.
func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	norm := func(v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		data, _ = json.Marshal(out)
		return string(data)
	}
	return norm(a) == norm(b)
}
