package main

import (
	"net/http"
	"testing"
)

func TestMetricsCommands(t *testing.T) {
	runCases(t, []cliCase{
		{
			name: "values",
			args: []string{"metrics", "values", "--thing", "cam-01", "--metric", "aws:listening-tcp-ports",
				"--start", "2023-11-14T22:00:00Z", "--end", "2023-11-14T23:00:00Z"},
			replies: map[string][]reply{"GET /api/metric-values": {
				okReply(`{"metricDatumList":[{"timestamp":1700000000.0,"value":{"ports":[80,443]}}],"nextToken":"n"}`),
				okReply(`{"metricDatumList":[{"timestamp":1700000300.0,"value":{"ports":[]}}]}`),
			}},
			stdout: outLines(
				"TIME                  VALUE",
				"2023-11-14T22:13:20Z  80,443",
				"2023-11-14T22:18:20Z  none"),
			requests: []wantRequest{
				{method: "GET", path: "/api/metric-values", query: map[string]string{"thingName": "cam-01",
					"metricName": "aws:listening-tcp-ports", "startTime": "1699999200", "endTime": "1700002800"}},
				{method: "GET", path: "/api/metric-values", query: map[string]string{"thingName": "cam-01",
					"metricName": "aws:listening-tcp-ports", "startTime": "1699999200", "endTime": "1700002800", "nextToken": "n"}},
			},
		},
		{
			name: "values of a dimension",
			args: []string{"metrics", "values", "--thing", "cam-01", "--metric", "aws:num-messages-sent", "--dimension", "own-reports",
				"--dimension-operator", "NOT_IN", "--start", "2023-11-14T22:00:00Z", "--end", "2023-11-14T23:00:00Z"},
			replies: map[string][]reply{"GET /api/metric-values": {
				okReply(`{"metricDatumList":[{"timestamp":1700000000.0,"value":{"count":3}}]}`),
			}},
			stdout: outLines(
				"TIME                  VALUE",
				"2023-11-14T22:13:20Z  3"),
			requests: []wantRequest{
				{method: "GET", path: "/api/metric-values", query: map[string]string{"thingName": "cam-01",
					"metricName": "aws:num-messages-sent", "dimensionName": "own-reports", "dimensionValueOperator": "NOT_IN",
					"startTime": "1699999200", "endTime": "1700002800"}},
			},
		},
		{
			name:   "values needs a thing",
			args:   []string{"metrics", "values", "--metric", "aws:all-bytes-out"},
			code:   2,
			stderr: "vigil: --thing is required\n",
		},
		{
			name:      "an older server",
			args:      []string{"metrics", "values", "--thing", "cam-01", "--metric", "aws:all-bytes-out"},
			code:      1,
			stderrHas: "does not provide /api/metric-values (HTTP 404): it needs a newer version of vigil\n",
			requests: []wantRequest{{method: "GET", path: "/api/metric-values",
				query: map[string]string{"thingName": "cam-01", "metricName": "aws:all-bytes-out", "startTime": "*", "endTime": "*"}}},
		},
		{
			name:    "a server that knows the thing not",
			args:    []string{"metrics", "values", "--thing", "cam-09", "--metric", "aws:all-bytes-out"},
			replies: map[string][]reply{"GET /api/metric-values": {awsError(http.StatusNotFound, "ResourceNotFoundException", `thing "cam-09" not found`)}},
			code:    1,
			stderr:  "vigil: thing \"cam-09\" not found (HTTP 404 ResourceNotFoundException)\n",
			requests: []wantRequest{{method: "GET", path: "/api/metric-values",
				query: map[string]string{"thingName": "cam-09", "metricName": "aws:all-bytes-out", "startTime": "*", "endTime": "*"}}},
		},
		{
			name: "stats",
			args: []string{"metrics", "stats", "--profile", "cameras", "--metric", "aws:all-bytes-out", "--period", "1d",
				"--statistics", "p50,p99.9", "--end", "2023-11-16T00:00:00Z", "--since", "2d"},
			replies: map[string][]reply{"GET /api/metric-statistics": {okReply(`{"metricStatistics":[` +
				`{"timestamp":1699920000,"statistics":{"p50":1200,"p99.9":88000.5},"population":40},` +
				`{"timestamp":1700006400,"statistics":{"p50":1100,"p99.9":91000},"population":41}]}`)}},
			stdout: outLines(
				"TIME                  P50   P99.9    DEVICES",
				"2023-11-14T00:00:00Z  1200  88000.5  40",
				"2023-11-15T00:00:00Z  1100  91000    41"),
			requests: []wantRequest{{method: "GET", path: "/api/metric-statistics", query: map[string]string{
				"securityProfileName": "cameras", "metricName": "aws:all-bytes-out", "period": "86400",
				"statistics": "p50,p99.9", "startTime": "1699920000", "endTime": "1700092800"}}},
		},
		{
			name:    "stats defaults",
			args:    []string{"metrics", "stats", "--profile", "cameras", "--metric", "aws:all-bytes-out", "-o", "json"},
			replies: map[string][]reply{"GET /api/metric-statistics": {okReply(`{"metricStatistics":[]}`)}},
			stdout:  outLines("{", `  "metricStatistics": []`, "}"),
			requests: []wantRequest{{method: "GET", path: "/api/metric-statistics", query: map[string]string{
				"securityProfileName": "cameras", "metricName": "aws:all-bytes-out", "period": "3600",
				"statistics": "p0,p50,p90,p100", "startTime": "*", "endTime": "*"}}},
		},
		{
			name:   "stats with a bad statistic",
			args:   []string{"metrics", "stats", "--profile", "cameras", "--metric", "m", "--statistics", "p50,median"},
			code:   2,
			stderr: "vigil: --statistics \"p50,median\": want percentiles such as p0,p50,p90,p99.9,p100\n",
		},
		{
			name:      "stats with a bad period",
			args:      []string{"metrics", "stats", "--profile", "cameras", "--metric", "m", "--period", "90s"},
			code:      2,
			stderrHas: "--period 1m30s: want whole minutes",
		},
		{
			name:      "stats from an older server",
			args:      []string{"metrics", "stats", "--profile", "cameras", "--metric", "m"},
			replies:   map[string][]reply{"GET /api/metric-statistics": {{status: http.StatusNotFound, body: "404 page not found\n", plain: true}}},
			code:      1,
			stderrHas: "does not provide /api/metric-statistics (HTTP 404)",
			requests: []wantRequest{{method: "GET", path: "/api/metric-statistics", query: map[string]string{
				"securityProfileName": "cameras", "metricName": "m", "period": "3600",
				"statistics": "p0,p50,p90,p100", "startTime": "*", "endTime": "*"}}},
		},
	})
}

// TestStatValue pins the shapes a period's percentiles are read from.
func TestStatValue(t *testing.T) {
	for _, tc := range []struct {
		name, period, stat, want string
	}{
		{"top level", `{"p90": 7}`, "p90", "7"},
		// The key holds a dot: it must not be read as a path.
		{"map", `{"statistics": {"p99.9": 7.5}}`, "p99.9", "7.5"},
		{"percentiles map", `{"percentiles": {"p90": 7}}`, "p90", "7"},
		{"list", `{"statistics": [{"statistic": "p50", "value": 1}, {"statistic": "p90", "value": 7}]}`, "p90", "7"},
		{"missing", `{"statistics": {"p50": 1}}`, "p90", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := decodeObject([]byte(tc.period))
			if err != nil {
				t.Fatal(err)
			}
			if got := statValue(o, tc.stat); got != tc.want {
				t.Errorf("statValue(%s, %s) = %q, want %q", tc.period, tc.stat, got, tc.want)
			}
		})
	}
}
