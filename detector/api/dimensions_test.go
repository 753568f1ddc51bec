package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/fleetstats"
)

// TestDimensions runs the dimension calls in their AWS shapes: create,
// describe, update, list, use in a profile, and delete once unused.
func TestDimensions(t *testing.T) {
	e := newEnv(t)
	create := `{"name":"commands","type":"TOPIC_FILTER","stringValues":["cmd/${iot:ClientId}/#"],"tags":[{"Key":"k","Value":"v"}],"clientRequestToken":"abc"}`
	profile := `{"behaviors":[{"name":"sent","metric":"aws:num-messages-sent","metricDimension":{"dimensionName":"commands","operator":"NOT_IN"},
		"criteria":{"comparisonOperator":"less-than","value":{"count":10},"durationSeconds":300}}]}`
	e.run(t, []step{
		{name: "create", method: "POST", path: "/api/dimensions/commands", body: create, status: 200,
			contains: []string{`"name":"commands"`, `"arn":"arn:vigil:iot:local:000000000000:dimension/commands"`}},
		{name: "create again, the same", method: "POST", path: "/api/dimensions/commands", body: create, status: 200},
		{name: "create again, other filters", method: "POST", path: "/api/dimensions/commands",
			body: `{"type":"TOPIC_FILTER","stringValues":["x"]}`, status: http.StatusConflict, errType: api.ResourceAlreadyExists},
		{name: "describe", method: "GET", path: "/api/dimensions/commands", status: 200,
			contains: []string{`"type":"TOPIC_FILTER"`, `"stringValues":["cmd/${iot:ClientId}/#"]`, `"creationDate":`, `"lastModifiedDate":`}},
		{name: "update", method: "PATCH", path: "/api/dimensions/commands", body: `{"stringValues":["cmd/+","cmd/+/#"]}`, status: 200,
			contains: []string{`"stringValues":["cmd/+","cmd/+/#"]`}},
		{name: "list", method: "GET", path: "/api/dimensions", status: 200, contains: []string{`"dimensionNames":["commands"]`}},
		{name: "profile using it", method: "POST", path: "/api/security-profiles/p", body: profile, status: 200},
		{name: "listed by dimension", method: "GET", path: "/api/security-profiles?dimensionName=commands", status: 200,
			contains: []string{`"name":"p"`}},
		{name: "delete while used", method: "DELETE", path: "/api/dimensions/commands", status: http.StatusConflict, errType: api.DeleteConflict,
			contains: []string{"security profile", "p"}},
		{name: "delete the profile", method: "DELETE", path: "/api/security-profiles/p", status: 200},
		{name: "delete", method: "DELETE", path: "/api/dimensions/commands", status: 200},
		{name: "describe deleted", method: "GET", path: "/api/dimensions/commands", status: 404, errType: api.ResourceNotFound},
	})
}

func TestDimensionErrors(t *testing.T) {
	e := newEnv(t)
	bad := func(name, method, path, body, mentions string) step {
		return step{name: name, method: method, path: path, body: body, status: 400, errType: api.InvalidRequest, contains: []string{mentions}}
	}
	e.run(t, []step{
		bad("another type", "POST", "/api/dimensions/d", `{"type":"CLIENT_ID","stringValues":["a"]}`, "type"),
		bad("no filters", "POST", "/api/dimensions/d", `{"type":"TOPIC_FILTER","stringValues":[]}`, "stringValues"),
		bad("a bad filter", "POST", "/api/dimensions/d", `{"type":"TOPIC_FILTER","stringValues":["a/#/b"]}`, "stringValues[0]"),
		bad("names differ", "POST", "/api/dimensions/d", `{"name":"e","type":"TOPIC_FILTER","stringValues":["a"]}`, "name"),
		bad("a profile naming an undefined dimension", "POST", "/api/security-profiles/p",
			`{"behaviors":[{"name":"sent","metric":"aws:num-messages-sent","metricDimension":{"dimensionName":"nothing"},"criteria":{"comparisonOperator":"less-than","value":{"count":1}}}]}`,
			"behaviors[0](sent).metricDimension.dimensionName"),
		{name: "update unknown", method: "PATCH", path: "/api/dimensions/nothing", body: `{"stringValues":["a"]}`, status: 404, errType: api.ResourceNotFound},
		{name: "validate names the fields", method: "POST", path: "/api/security-profile-behaviors/validate", status: 200,
			body: `{"behaviors":[{"name":"sent","metric":"aws:num-messages-sent","metricDimension":{"dimensionName":"nothing"},"criteria":{"comparisonOperator":"less-than","value":{"count":1}}},
				{"name":"from","metric":"aws:source-ip-address","criteria":{"comparisonOperator":"less-than","value":{"count":1}}},
				{"name":"silence","metric":"vigil:report-silence","criteria":{"comparisonOperator":"less-than","value":{"cidrs":["10.0.0.0/8"]}}}]}`,
			contains: []string{`"valid":false`, "behaviors[0](sent).metricDimension.dimensionName", "behaviors[1](from).criteria.comparisonOperator",
				"behaviors[2](silence).criteria.value"}},
	})
}

// TestMetricValuesOfADimension reads the history of a dimensioned series
// through ListMetricValues' dimensionName and dimensionValueOperator.
func TestMetricValuesOfADimension(t *testing.T) {
	e, h := newHistoryEnv(t, true)
	for i, op := range []string{"IN", "NOT_IN"} {
		h.Append("door", "aws:num-messages-sent/"+op+"/commands", valuesAt, detector.Value{Kind: detector.KindCount, Number: float64(10 + i)})
	}
	start, end := valuesAt.Add(-time.Minute), valuesAt.Add(time.Minute)
	for _, tc := range []struct{ extra, want string }{
		{"&dimensionName=commands", `"count":10`},
		{"&dimensionName=commands&dimensionValueOperator=IN", `"count":10`},
		{"&dimensionName=commands&dimensionValueOperator=NOT_IN", `"count":11`},
		{"", `"metricDatumList":[]`},
	} {
		r := e.must("GET", valuesPath("door", "aws:num-messages-sent", start, end, tc.extra), "")
		if !contains(string(r.Raw), tc.want) {
			t.Errorf("%s: %s, want %s", tc.extra, r.Raw, tc.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestMetricStatisticsOfADimension reads the fleet summaries of a
// dimensioned series through dimensionName and dimensionValueOperator.
func TestMetricStatisticsOfADimension(t *testing.T) {
	e, agg := newStatsEnv(t, true)
	e.must("POST", "/api/dimensions/commands", `{"type":"TOPIC_FILTER","stringValues":["cmd/#"]}`)
	e.must("POST", "/api/security-profiles/doors", `{"behaviors":[{"name":"sent","metric":"aws:num-messages-sent",
		"metricDimension":{"dimensionName":"commands","operator":"NOT_IN"},"criteria":{"comparisonOperator":"less-than","value":{"count":10},"durationSeconds":300}}]}`)
	for d := range 10 {
		agg.Add("doors", "aws:num-messages-sent/NOT_IN/commands", fmt.Sprint("door-", d), day0.Add(time.Minute), float64(d), true)
	}
	if err := agg.Tick(day0.Add(5*time.Minute + fleetstats.DefaultGrace)); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/metric-statistics?securityProfileName=doors&metricName=aws:num-messages-sent&startTime=%d&endTime=%d&period=300&statistics=p100",
		day0.Unix(), day0.Add(time.Hour).Unix())
	if r := e.must("GET", path+"&dimensionName=commands&dimensionValueOperator=NOT_IN", ""); !strings.Contains(string(r.Raw), `"p100":9`) {
		t.Errorf("NOT_IN series: %s", r.Raw)
	}
	if r := e.must("GET", path+"&dimensionName=commands", ""); !strings.Contains(string(r.Raw), `"metricStatistics":[]`) {
		t.Errorf("IN series, never retained: %s", r.Raw)
	}
}
