package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// stream is a client of the violation event stream.
type stream struct {
	t      *testing.T
	lines  chan string
	cancel context.CancelFunc
}

// openStream connects to GET /api/violation-events/stream with a query
// and waits for the server's greeting.
func (e *env) openStream(t *testing.T, query string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/api/violation-events/stream"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: t, lines: make(chan string, 100), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	if got := s.next(); got != "retry: 2000" {
		t.Fatalf("first line %q", got)
	}
	return s
}

// next returns the next line, or "EOF" when the server ended the stream.
func (s *stream) next() string {
	s.t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			return "EOF"
		}
		return l
	case <-time.After(10 * time.Second):
		s.t.Fatal("no line from the stream within 10 s")
		return ""
	}
}

// event returns the next event's name and data, skipping comments.
func (s *stream) event() (string, map[string]any) {
	s.t.Helper()
	var name string
	for {
		l := s.next()
		switch {
		case l == "EOF":
			return "EOF", nil
		case strings.HasPrefix(l, "event: "):
			name = strings.TrimPrefix(l, "event: ")
		case strings.HasPrefix(l, "data: "):
			var data map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &data); err != nil {
				s.t.Fatalf("data %q: %v", l, err)
			}
			return name, data
		}
	}
}

func TestViolationStream(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/security-profiles/ports", `{"behaviors":[{"name":"OnlyAlt","metric":"aws:listening-tcp-ports",
		"criteria":{"comparisonOperator":"in-port-set","value":{"ports":[8888]}}}]}`)
	e.must("PUT", "/api/security-profiles/ports/targets?securityProfileTargetArn=all/things", "")
	all := e.openStream(t, "")
	onlyCam2 := e.openStream(t, "?thingName=cam-2")
	otherProfile := e.openStream(t, "?securityProfileName=other")

	e.report("cam-1", 443) // in alarm
	e.report("cam-2", 443) // in alarm
	e.report("cam-1", 8888)

	for _, want := range []struct{ thing, typ string }{{"cam-1", "in-alarm"}, {"cam-2", "in-alarm"}, {"cam-1", "alarm-cleared"}} {
		name, ev := all.event()
		if name != "violation" || ev["thingName"] != want.thing || ev["violationEventType"] != want.typ || ev["securityProfileName"] != "ports" {
			t.Errorf("event %s %v, want a violation event %s of %s", name, ev, want.typ, want.thing)
		}
		if ev["violationEventTime"] != t0Seconds || field(ev["behavior"], "name") != "OnlyAlt" {
			t.Errorf("event %v: time or behavior", ev)
		}
	}
	if name, ev := onlyCam2.event(); name != "violation" || ev["thingName"] != "cam-2" {
		t.Errorf("filtered by thing: %s %v", name, ev)
	}

	// Closing the feed (as the server shuts down) ends every stream.
	e.feed.Close()
	for _, s := range []*stream{all, onlyCam2, otherProfile} {
		if name, ev := s.event(); name != "EOF" {
			t.Errorf("after close: %s %v", name, ev)
		}
	}
	if r := e.call("GET", "/api/violation-events/stream", ""); r.Status != http.StatusServiceUnavailable {
		t.Errorf("stream after close: %d", r.Status)
	}
}

func TestFleetSummary(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/things/cam-1", `{}`)
	e.must("POST", "/api/things/cam-2", `{}`)
	e.must("POST", "/api/thing-groups/lyon", `{}`)
	e.must("POST", "/api/security-profiles/ports", `{"behaviors":[{"name":"OnlyAlt","metric":"aws:listening-tcp-ports",
		"criteria":{"comparisonOperator":"in-port-set","value":{"ports":[8888]}}}]}`)
	e.must("PUT", "/api/security-profiles/ports/targets?securityProfileTargetArn=all/things", "")
	e.report("cam-1", 443)
	e.openStream(t, "")
	e.run(t, []step{
		{name: "counts", method: "GET", path: "/api/fleet-summary", status: 200, check: func(t *testing.T, r response) {
			want := map[string]any{"thingCount": 2.0, "thingGroupCount": 1.0, "securityProfileCount": 1.0, "reportingThingCount": 1.0,
				"reportingWindowSeconds": 600.0, "activeViolationCount": 1.0, "streamClients": 1.0, "now": t0Seconds}
			for k, v := range want {
				if r.Body[k] != v {
					t.Errorf("%s = %v, want %v (%s)", k, r.Body[k], v, r.Raw)
				}
			}
		}},
		{name: "window under a second", method: "GET", path: "/api/fleet-summary?reportingWindow=1ms", status: 400,
			errType: "InvalidRequestException", contains: []string{"reportingWindow"}},
		{name: "window in seconds", method: "GET", path: "/api/fleet-summary?reportingWindow=60", status: 200, check: func(t *testing.T, r response) {
			if r.Body["reportingWindowSeconds"] != 60.0 || r.Body["reportingThingCount"] != 1.0 {
				t.Errorf("%s", r.Raw)
			}
		}},
		{name: "bad window", method: "GET", path: "/api/fleet-summary?reportingWindow=soon", status: 400,
			errType: "InvalidRequestException", contains: []string{"reportingWindow"}},
	})
	e.clock.Set(t0.Add(11 * time.Minute))
	if r := e.must("GET", "/api/fleet-summary", ""); r.Body["reportingThingCount"] != 0.0 {
		t.Errorf("11 minutes after the last report: %s", r.Raw)
	}
}
