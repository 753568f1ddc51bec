package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/internal/fakeclock"
)

// day0 starts the UTC day of the fleet statistics tests.
var day0 = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)

// newStatsEnv is a detector whose API serves the fleet statistics of a
// real aggregator on the same store; with fleet false, the API has none.
func newStatsEnv(t *testing.T, fleet bool) (*env, *fleetstats.Aggregator) {
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
	agg, err := fleetstats.New(db, fleetstats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := api.Options{Service: e.svc, Logger: zerolog.Nop(), Gatherer: prometheus.NewRegistry()}
	if fleet {
		opts.FleetStats = agg
	}
	srv := httptest.NewServer(api.New(opts))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e, agg
}

// bytesProfile retains aws:all-bytes-out through a behavior.
const bytesProfile = `{"behaviors":[{"name":"Out","metric":"aws:all-bytes-out",
	"criteria":{"comparisonOperator":"less-than","value":{"count":100000}}}]}`

// fillDay gives a day and an hour of windows of 10 devices: device d sends
// (d+1) x 100 bytes, twice, in window w, plus w.
func fillDay(t *testing.T, agg *fleetstats.Aggregator) {
	t.Helper()
	for w := day0; w.Before(day0.Add(25 * time.Hour)); w = w.Add(5 * time.Minute) {
		extra := float64(w.Sub(day0) / (5 * time.Minute))
		for d := range 10 {
			thing := fmt.Sprint("scanner-", d)
			agg.Add("scanners", "aws:all-bytes-out", thing, w.Add(time.Minute), float64(d+1)*50, true)
			agg.Add("scanners", "aws:all-bytes-out", thing, w.Add(3*time.Minute), float64(d+1)*50+extra, true)
		}
		if err := agg.Tick(w.Add(5*time.Minute + fleetstats.DefaultGrace)); err != nil {
			t.Fatal(err)
		}
	}
}

// statsPath is a metric-statistics query of the scanners' bytes out.
func statsPath(start, end time.Time, extra string) string {
	return fmt.Sprintf("/api/metric-statistics?securityProfileName=scanners&metricName=aws:all-bytes-out&startTime=%d&endTime=%d&%s",
		start.Unix(), end.Unix(), extra)
}

// items returns the metricStatistics of an answer.
func items(t *testing.T, r response) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, it := range list(t, r, "metricStatistics") {
		out = append(out, it.(map[string]any))
	}
	return out
}

func TestMetricStatistics(t *testing.T) {
	e, agg := newStatsEnv(t, true)
	e.must("POST", "/api/security-profiles/scanners", bytesProfile)
	fillDay(t, agg)
	hour := day0.Add(time.Hour)

	first := func(check func(t *testing.T, it map[string]any)) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			check(t, items(t, r)[0])
		}
	}
	count := func(n int) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			if got := len(items(t, r)); got != n {
				t.Errorf("%d items, want %d: %s", got, n, r.Raw)
			}
		}
	}
	e.run(t, []step{
		{name: "five minutes", method: "GET", path: statsPath(day0, hour, "period=300&statistics=p0,p100"), status: 200,
			check: func(t *testing.T, r response) {
				its := items(t, r)
				if len(its) != 12 || r.Body["nextToken"] != nil {
					t.Fatalf("%d items: %s", len(its), r.Raw)
				}
				// The first window: device d sent (d+1) x 100 bytes.
				want := map[string]any{"timestamp": float64(day0.Unix()), "period": 300.0, "deviceCount": 10.0,
					"statistics": map[string]any{"p0": 100.0, "p100": 1000.0}}
				if !sameJSON(t, its[0], want) {
					t.Errorf("first window %v, want %v", its[0], want)
				}
				if last := its[11]["timestamp"]; last != float64(hour.Add(-5*time.Minute).Unix()) {
					t.Errorf("last window at %v", last)
				}
			}},
		{name: "one hour in seconds", method: "GET", path: statsPath(day0, hour, "period=3600&statistics=p0&statistics=p100,p0"), status: 200,
			check: first(func(t *testing.T, it map[string]any) {
				// The hour merges its windows: w is 0 to 11.
				want := map[string]any{"timestamp": float64(day0.Unix()), "period": 3600.0, "deviceCount": 10.0,
					"statistics": map[string]any{"p0": 100.0, "p100": 1011.0}}
				if !sameJSON(t, it, want) {
					t.Errorf("hour %v, want %v", it, want)
				}
			})},
		{name: "one hour as a duration", method: "GET", path: statsPath(day0, day0.Add(24*time.Hour), "period=1h"), status: 200,
			check: count(24)},
		{name: "one day, default statistics", method: "GET", path: statsPath(day0, day0.Add(48*time.Hour), "period=1d"), status: 200,
			check: func(t *testing.T, r response) {
				its := items(t, r)
				stats, _ := its[0]["statistics"].(map[string]any)
				if len(its) != 1 || len(stats) != len(fleetstats.DefaultStatistics) || its[0]["period"] != 86400.0 {
					t.Errorf("only the closed day, with the default statistics: %s", r.Raw)
				}
			}},
		{name: "RFC 3339 times", method: "GET", path: "/api/metric-statistics?securityProfileName=scanners&metricName=aws:all-bytes-out" +
			"&startTime=" + url.QueryEscape(day0.Format(time.RFC3339)) + "&endTime=" + url.QueryEscape(hour.Format(time.RFC3339)) + "&period=5m",
			status: 200, check: count(12)},
		{name: "a metric without summaries", method: "GET",
			path:   "/api/metric-statistics?securityProfileName=scanners&metricName=aws:all-bytes-in&startTime=0&endTime=2000000000&period=1h",
			status: 200, contains: []string{`"metricStatistics":[]`}},
	})
	checkStatisticsPages(t, e, agg)
}

// checkStatisticsPages reads a series in pages of 5 and compares it with
// what the aggregator answers in one.
func checkStatisticsPages(t *testing.T, e *env, agg *fleetstats.Aggregator) {
	t.Helper()
	var got []map[string]any
	token, pages := "", 0
	for {
		r := e.must("GET", statsPath(day0, day0.Add(time.Hour), "period=300&statistics=p50,p90&maxResults=5&nextToken="+url.QueryEscape(token)), "")
		got, pages = append(got, items(t, r)...), pages+1
		next, _ := r.Body["nextToken"].(string)
		if next == "" {
			break
		}
		token = next
	}
	want, _, err := agg.Series("scanners", "aws:all-bytes-out", day0, day0.Add(time.Hour), fleetstats.Period5m, []string{"p50", "p90"}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if pages != 3 || len(got) != len(want) {
		t.Fatalf("%d pages of %d items, want 3 pages of %d", pages, len(got), len(want))
	}
	for i, pt := range want {
		if !sameJSON(t, got[i]["statistics"], pt.Values) || got[i]["timestamp"] != float64(pt.Start.Unix()) {
			t.Errorf("item %d: %v, want %+v", i, got[i], pt)
		}
	}
}

func TestMetricStatisticsErrors(t *testing.T) {
	e, _ := newStatsEnv(t, true)
	e.must("POST", "/api/security-profiles/scanners", bytesProfile)
	base := "/api/metric-statistics?securityProfileName=scanners&metricName=m&startTime=1700000000&endTime=1700086400&period=3600"
	without := func(name string) string {
		u, _ := url.Parse(base)
		q := u.Query()
		q.Del(name)
		u.RawQuery = q.Encode()
		return u.String()
	}
	bad := func(name, path, mentions string) step {
		return step{name: name, method: "GET", path: path, status: 400, errType: api.InvalidRequest, contains: []string{mentions}}
	}
	var steps []step
	for _, p := range []string{"securityProfileName", "metricName", "startTime", "endTime", "period"} {
		steps = append(steps, bad("without "+p, without(p), p))
	}
	for _, p := range []string{"60", "2h", "7d", "0", "-300", "five minutes"} {
		steps = append(steps, bad("period "+p, without("period")+"&period="+url.QueryEscape(p), "period"))
	}
	steps = append(steps,
		bad("period given twice, first bad", without("period")+"&period=10&period=300", "period"),
		bad("unknown statistic", base+"&statistics=p0,p42", `p42`),
		bad("not a statistic", base+"&statistics=median", "statistics"),
		bad("empty statistic", base+"&statistics=p0,,p100", "statistics"),
		bad("end before start", without("endTime")+"&endTime=1600000000", "endTime"),
		bad("end at start", without("endTime")+"&endTime=1700000000", "endTime"),
		bad("bad time", without("startTime")+"&startTime=yesterday", "startTime"),
		bad("maxResults 0", base+"&maxResults=0", "maxResults"),
		bad("maxResults too large", base+"&maxResults=251", "maxResults"),
		bad("foreign token", base+"&nextToken="+foreignToken(), "nextToken"),
		bad("token with a bad key", base+"&nextToken="+statsToken("soon"), "nextToken"),
		step{name: "unknown profile", method: "GET", path: without("securityProfileName") + "&securityProfileName=nobody",
			status: 404, errType: api.ResourceNotFound, contains: []string{"nobody"}},
		step{name: "not a GET", method: "POST", path: base, status: 405, errType: api.MethodNotAllowed},
	)
	e.run(t, steps)
}

// foreignToken is a well-formed token of another listing.
func foreignToken() string { return tokenOf("violation-events", "x") }

// statsToken is a token of this listing around any key.
func statsToken(key string) string { return tokenOf("metric-statistics", key) }

// tokenOf makes a page token as the API does (paging.go): the base64 of
// the listing's name and the key to continue after.
func tokenOf(listing, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(listing + "\x00" + key))
}

func TestMetricStatisticsWithoutAggregator(t *testing.T) {
	e, _ := newStatsEnv(t, false)
	e.must("POST", "/api/security-profiles/scanners", bytesProfile)
	e.run(t, []step{{name: "unknown operation", method: "GET",
		path:   "/api/metric-statistics?securityProfileName=scanners&metricName=m&startTime=0&endTime=1&period=300",
		status: http.StatusNotFound, errType: api.UnknownOperation}})
}
