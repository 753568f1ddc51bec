package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/history"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/internal/fakeclock"
)

// valuesAt is 10:00:00.25 UTC on 2024-01-02: epoch 1704189600.25.
var valuesAt = time.Date(2024, 1, 2, 10, 0, 0, 250_000_000, time.UTC)

// newHistoryEnv is an API on a detector and a real history on one store;
// with withHistory false, the API has no history.
func newHistoryEnv(t *testing.T, withHistory bool) (*env, *history.History) {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	reg, err := registry.Load(db)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pub: newPublisher(), clock: fakeclock.New(t0), sent: map[string]int{}}
	e.svc, err = service.New(service.Options{DB: db, Registry: reg, Publisher: e.pub, Logger: zerolog.Nop(),
		Now: e.clock.Now, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	h := history.New(db, history.Options{Logger: zerolog.Nop()})
	opts := api.Options{Service: e.svc, Logger: zerolog.Nop(), Gatherer: prometheus.NewRegistry()}
	if withHistory {
		opts.History = h
	}
	srv := httptest.NewServer(api.New(opts))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e, h
}

// valuesPath is a ListMetricValues request.
func valuesPath(thing, metric string, start, end time.Time, extra string) string {
	return fmt.Sprintf("/api/metric-values?thingName=%s&metricName=%s&startTime=%d&endTime=%d%s",
		url.QueryEscape(thing), url.QueryEscape(metric), start.Unix(), end.Unix(), extra)
}

// valuesToken makes a token of a listing around a raw key.
func valuesToken(listing, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(listing + "\x00" + key))
}

func TestListMetricValues(t *testing.T) {
	e, h := newHistoryEnv(t, true)
	for i := range 3 {
		h.Append("cam-1", "aws:all-bytes-out", valuesAt.Add(time.Duration(i)*5*time.Minute), detector.Value{Kind: detector.KindCount, Number: float64(100 + i)})
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 5; i++ { // buffered, not flushed
		h.Append("cam-1", "aws:all-bytes-out", valuesAt.Add(time.Duration(i)*5*time.Minute), detector.Value{Kind: detector.KindCount, Number: float64(100 + i)})
	}
	h.Append("cam-2", "aws:all-bytes-out", valuesAt, detector.Value{Kind: detector.KindCount, Number: 7})
	kinds := []struct {
		metric string
		value  detector.Value
		json   string
	}{
		{"aws:listening-tcp-ports", detector.Value{Kind: detector.KindPorts, Ports: []uint16{22, 443}}, `{"ports":[22,443]}`},
		{"aws:destination-ips", detector.Value{Kind: detector.KindIPs, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")}},
			`{"cidrs":["10.0.0.1/32","2001:db8::1/128"]}`},
		{"temperature", detector.Value{Kind: detector.KindNumber, Number: 41.5}, `{"number":41.5}`},
		{"codes", detector.Value{Kind: detector.KindNumbers, Numbers: []float64{1, 2.5}}, `{"numbers":[1,2.5]}`},
		{"names", detector.Value{Kind: detector.KindStrings, Strings: []string{"a", "b"}}, `{"strings":["a","b"]}`},
	}
	for _, k := range kinds {
		h.Append("cam-1", k.metric, valuesAt, k.value)
	}
	day := valuesAt.Truncate(24 * time.Hour)
	path := func(metric, extra string) string {
		return valuesPath("cam-1", metric, day, day.Add(24*time.Hour), extra)
	}

	steps := []step{
		{name: "the AWS shape", method: "GET", path: path("aws:all-bytes-out", "&maxResults=2"), status: 200,
			contains: []string{`{"metricDatumList":[{"timestamp":1704189600.25,"value":{"count":100}},{"timestamp":1704189900.25,"value":{"count":101}}],"nextToken":"`}},
		{name: "RFC 3339 times", method: "GET", status: 200, contains: []string{`"count":104}}]}`},
			path: "/api/metric-values?thingName=cam-1&metricName=aws:all-bytes-out&startTime=2024-01-02T10:20:00Z&endTime=2024-01-02T10:20:01Z"},
		{name: "end is exclusive", method: "GET", status: 200, contains: []string{`{"metricDatumList":[]}`},
			path: valuesPath("cam-1", "aws:all-bytes-out", day, valuesAt.Truncate(time.Second), "")},
		{name: "another thing", method: "GET", status: 200, contains: []string{`"value":{"count":7}}]}`},
			path: valuesPath("cam-2", "aws:all-bytes-out", day, day.Add(24*time.Hour), "")},
		{name: "no such series", method: "GET", status: 200, contains: []string{`{"metricDatumList":[]}`},
			path: valuesPath("cam-9", "aws:all-bytes-out", day, day.Add(24*time.Hour), "")},
	}
	for _, k := range kinds {
		steps = append(steps, step{name: k.metric, method: "GET", path: path(k.metric, ""), status: 200,
			contains: []string{`{"metricDatumList":[{"timestamp":1704189600.25,"value":` + k.json + `}]}`}})
	}
	e.run(t, steps)
	checkValuePages(t, e, path("aws:all-bytes-out", "&maxResults=2"))
}

// checkValuePages reads every page, which must give the 5 points once each
// over 3 pages.
func checkValuePages(t *testing.T, e *env, path string) {
	t.Helper()
	var counts []float64
	token := ""
	for page := 1; ; page++ {
		r := e.must("GET", path+token, "")
		for _, d := range list(t, r, "metricDatumList") {
			counts = append(counts, d.(map[string]any)["value"].(map[string]any)["count"].(float64))
		}
		next, _ := r.Body["nextToken"].(string)
		if next == "" {
			if page != 3 {
				t.Errorf("%d pages, want 3", page)
			}
			break
		}
		token = "&nextToken=" + url.QueryEscape(next)
	}
	if fmt.Sprint(counts) != "[100 101 102 103 104]" {
		t.Errorf("pages gave %v", counts)
	}
}

func TestListMetricValuesErrors(t *testing.T) {
	e, _ := newHistoryEnv(t, true)
	start, end := valuesAt, valuesAt.Add(time.Hour)
	bad := func(name, path, mentions string) step {
		return step{name: name, method: "GET", path: path, status: 400, errType: api.InvalidRequest, contains: []string{mentions}}
	}
	e.run(t, []step{
		bad("no thingName", fmt.Sprintf("/api/metric-values?metricName=m&startTime=%d&endTime=%d", start.Unix(), end.Unix()), "thingName"),
		bad("no metricName", fmt.Sprintf("/api/metric-values?thingName=t&startTime=%d&endTime=%d", start.Unix(), end.Unix()), "metricName"),
		bad("no startTime", fmt.Sprintf("/api/metric-values?thingName=t&metricName=m&endTime=%d", end.Unix()), "startTime"),
		bad("no endTime", fmt.Sprintf("/api/metric-values?thingName=t&metricName=m&startTime=%d", start.Unix()), "endTime"),
		bad("bad startTime", "/api/metric-values?thingName=t&metricName=m&startTime=yesterday&endTime=1", "startTime"),
		bad("end before start", valuesPath("t", "m", end, start, ""), "endTime"),
		bad("maxResults of 0", valuesPath("t", "m", start, end, "&maxResults=0"), "maxResults"),
		bad("maxResults beyond 250", valuesPath("t", "m", start, end, "&maxResults=251"), "maxResults"),
		bad("token of nothing", valuesPath("t", "m", start, end, "&nextToken=garbage!"), "nextToken"),
		bad("token of another listing", valuesPath("t", "m", start, end, "&nextToken="+valuesToken("violation-events", "1.1")), "nextToken"),
		bad("token not made by the history", valuesPath("t", "m", start, end, "&nextToken="+valuesToken("metric-values", "x")), "nextToken"),
		bad("a dimension on a metric that takes none", valuesPath("t", "m", start, end, "&dimensionName=topics"), "dimensionName"),
		bad("an unknown dimension operator", valuesPath("t", "aws:num-messages-sent", start, end, "&dimensionName=topics&dimensionValueOperator=OUT"), "dimensionValueOperator"),
		bad("an operator without a dimension", valuesPath("t", "aws:num-messages-sent", start, end, "&dimensionValueOperator=IN"), "dimensionValueOperator"),
		bad("a NUL in a name", valuesPath("t\x00", "m", start, end, ""), "thingName"),
	})
}

// Without a history, ListMetricValues is an unknown operation.
func TestListMetricValuesWithoutHistory(t *testing.T) {
	e, _ := newHistoryEnv(t, false)
	e.run(t, []step{{name: "unknown", method: "GET", path: valuesPath("t", "m", valuesAt, valuesAt.Add(time.Hour), ""),
		status: 404, errType: api.UnknownOperation}})
}
