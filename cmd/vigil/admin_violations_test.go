package main

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// awsEvents is the ListViolationEvents example of the AWS CLI
// documentation, split over two pages.
var awsEvents = []reply{
	okReply(`{"violationEvents":[{"violationId":"174db59167fa474c80a652ad1583fd44","thingName":"iotconsole-1560269126751-1",
		"securityProfileName":"Testprofile","behavior":{"name":"Authorization","metric":"aws:num-authorization-failures",
		"criteria":{"comparisonOperator":"greater-than","value":{"count":10},"durationSeconds":300,
		"consecutiveDatapointsToAlarm":1,"consecutiveDatapointsToClear":1}},"metricValue":{"count":0},
		"violationEventType":"in-alarm","violationEventTime":1560279000.0}],"nextToken":"p2"}`),
	okReply(`{"violationEvents":[{"violationId":"174db59167fa474c80a652ad1583fd44","thingName":"iotconsole-1560269126751-1",
		"securityProfileName":"Testprofile","behavior":{"name":"Authorization"},"metricValue":{"count":12},
		"violationEventType":"alarm-cleared","violationEventTime":1560279300.5}]}`),
}

func TestViolations(t *testing.T) {
	before := time.Now().Unix()
	runCases(t, []cliCase{
		{
			name:    "events of the last day, all pages",
			args:    []string{"violations", "--thing", "iotconsole-1560269126751-1"},
			replies: map[string][]reply{"GET /api/violation-events": awsEvents},
			stdout: outLines(
				"TIME                  TYPE           THING                       PROFILE      BEHAVIOR       VALUE  VIOLATION ID",
				"2019-06-11T18:50:00Z  in-alarm       iotconsole-1560269126751-1  Testprofile  Authorization  0      174db59167fa474c80a652ad1583fd44",
				"2019-06-11T18:55:00Z  alarm-cleared  iotconsole-1560269126751-1  Testprofile  Authorization  12     174db59167fa474c80a652ad1583fd44"),
			requests: []wantRequest{
				{method: "GET", path: "/api/violation-events",
					query: map[string]string{"startTime": "*", "endTime": "*", "thingName": "iotconsole-1560269126751-1"}},
				{method: "GET", path: "/api/violation-events",
					query: map[string]string{"startTime": "*", "endTime": "*", "thingName": "iotconsole-1560269126751-1", "nextToken": "p2"}},
			},
			check: func(t *testing.T, got []gotRequest) {
				start, _ := strconv.ParseInt(got[0].query.Get("startTime"), 10, 64)
				end, _ := strconv.ParseInt(got[0].query.Get("endTime"), 10, 64)
				if end < before || end > time.Now().Unix() || end-start != 24*3600 {
					t.Errorf("startTime %d, endTime %d: want the 24 hours up to now", start, end)
				}
				if got[1].query.Get("startTime") != got[0].query.Get("startTime") {
					t.Errorf("the second page asks for another time range: %v", got[1].query)
				}
			},
		},
		{
			name:    "events of a range",
			args:    []string{"violations", "--profile", "Testprofile", "--start", "2019-06-11T00:00:00Z", "--end", "2019-06-12T00:00:00+02:00", "-o", "json"},
			replies: map[string][]reply{"GET /api/violation-events": {okReply(`{"violationEvents":[]}`)}},
			stdout:  outLines("{", `  "violationEvents": []`, "}"),
			requests: []wantRequest{{method: "GET", path: "/api/violation-events",
				query: map[string]string{"startTime": "1560211200", "endTime": "1560290400", "securityProfileName": "Testprofile"}}},
		},
		{
			name:    "since a week before the end",
			args:    []string{"violations", "--since", "7d", "--end", "2019-06-12T00:00:00Z"},
			replies: map[string][]reply{"GET /api/violation-events": {okReply(`{"violationEvents":[]}`)}},
			stdout:  "TIME  TYPE  THING  PROFILE  BEHAVIOR  VALUE  VIOLATION ID\n",
			requests: []wantRequest{{method: "GET", path: "/api/violation-events",
				query: map[string]string{"startTime": "1559692800", "endTime": "1560297600"}}},
		},
		{
			name: "active",
			args: []string{"violations", "--active"},
			replies: map[string][]reply{"GET /api/active-violations": {okReply(`{"activeViolations":[{"violationId":"37e18651d207bbc74236c13faf146127",
				"thingName":"cam-01","securityProfileName":"cameras","behavior":{"name":"ports","metric":"aws:listening-tcp-ports"},
				"lastViolationValue":{"ports":[22,443]},"lastViolationTime":1700000300.0,"violationStartTime":1700000000.0}]}`)}},
			stdout: outLines(
				"TIME                  TYPE      THING   PROFILE  BEHAVIOR  VALUE   VIOLATION ID",
				"2023-11-14T22:18:20Z  in-alarm  cam-01  cameras  ports     22,443  37e18651d207bbc74236c13faf146127"),
			requests: []wantRequest{{method: "GET", path: "/api/active-violations"}},
		},
		{
			name:   "active takes no time range",
			args:   []string{"violations", "--active", "--since", "1h"},
			code:   2,
			stderr: "vigil: --active lists the violations in alarm now: it takes no --since, --start or --end\n",
		},
		{
			name:   "since and start",
			args:   []string{"violations", "--since", "1h", "--start", "2019-06-11T00:00:00Z"},
			code:   2,
			stderr: "vigil: give --since or --start, not both\n",
		},
		{
			name:      "a bad start",
			args:      []string{"violations", "--start", "yesterday"},
			code:      2,
			stderrHas: `--start "yesterday": want an RFC 3339 time`,
		},
		{
			name:      "start after end",
			args:      []string{"violations", "--start", "2019-06-12T00:00:00Z", "--end", "2019-06-11T00:00:00Z"},
			code:      2,
			stderrHas: "is not before the end",
		},
		{
			name:      "a bad duration",
			args:      []string{"violations", "--since", "-3h"},
			code:      2,
			stderrHas: `want a positive duration`,
		},
		{
			name:      "an unknown argument",
			args:      []string{"violations", "cam-01"},
			code:      2,
			stderrHas: `unknown command "cam-01" for "vigil violations"`,
		},
		{
			name:    "verify",
			args:    []string{"violations", "verify", "174db59167fa474c80a652ad1583fd44", "--state", "false-positive", "--description", "firmware update"},
			replies: map[string][]reply{"POST /api/violations/verification-state/174db59167fa474c80a652ad1583fd44": {okReply(`{}`)}},
			stdout:  "marked violation 174db59167fa474c80a652ad1583fd44 as FALSE_POSITIVE\n",
			requests: []wantRequest{{method: "POST", path: "/api/violations/verification-state/174db59167fa474c80a652ad1583fd44",
				body: `{"verificationState":"FALSE_POSITIVE","verificationStateDescription":"firmware update"}`}},
		},
		{
			name:     "verify an unknown violation",
			args:     []string{"violations", "verify", "abc", "--state", "TRUE_POSITIVE"},
			replies:  map[string][]reply{"POST /api/violations/verification-state/abc": {awsError(http.StatusNotFound, "ResourceNotFoundException", "violation abc not found")}},
			code:     1,
			stderr:   "vigil: violation abc not found (HTTP 404 ResourceNotFoundException)\n",
			requests: []wantRequest{{method: "POST", path: "/api/violations/verification-state/abc", body: `{"verificationState":"TRUE_POSITIVE"}`}},
		},
		{
			name:   "verify needs a state",
			args:   []string{"violations", "verify", "abc"},
			code:   2,
			stderr: "vigil: --state is required\n",
		},
		{
			name:   "verify with an unknown state",
			args:   []string{"violations", "verify", "abc", "--state", "maybe"},
			code:   2,
			stderr: "vigil: --state \"maybe\": want TRUE_POSITIVE, BENIGN_POSITIVE, FALSE_POSITIVE, UNKNOWN\n",
		},
	})
}
