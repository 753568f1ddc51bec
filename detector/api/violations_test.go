package api_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"
)

// seconds is a time as the API writes it.
func seconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func TestViolations(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/security-profiles/ports", `{"behaviors":[{"name":"OnlyAlt","metric":"aws:listening-tcp-ports",
		"criteria":{"comparisonOperator":"in-port-set","value":{"ports":[8888]}}}]}`)
	e.must("PUT", "/api/security-profiles/ports/targets?securityProfileTargetArn=all/things", "")

	e.report("cam-1", 443) // at t0: in alarm
	active := e.must("GET", "/api/active-violations", "")
	violations := list(t, active, "activeViolations")
	if len(violations) != 1 {
		t.Fatalf("active violations: %s", active.Raw)
	}
	v := violations[0].(map[string]any)
	id := field(v, "violationId")
	if len(id) != 32 || v["thingName"] != "cam-1" || v["securityProfileName"] != "ports" || field(v["behavior"], "name") != "OnlyAlt" {
		t.Errorf("active violation: %s", active.Raw)
	}
	if v["lastViolationTime"] != t0Seconds || v["violationStartTime"] != t0Seconds || v["verificationState"] != "UNKNOWN" {
		t.Errorf("times or state: %s", active.Raw)
	}
	if !sameJSON(t, v["lastViolationValue"], map[string]any{"ports": []int{443}}) {
		t.Errorf("lastViolationValue: %v", v["lastViolationValue"])
	}

	e.run(t, []step{
		{name: "verify", method: "POST", path: "/api/violations/verification-state/" + id,
			body:   `{"violationId":"` + id + `","verificationState":"TRUE_POSITIVE","verificationStateDescription":"opened by a test"}`,
			status: 200, contains: []string{"{}"}},
		{name: "verify with bad state", method: "POST", path: "/api/violations/verification-state/" + id,
			body: `{"verificationState":"MAYBE"}`, status: 400, errType: "InvalidRequestException", contains: []string{"verificationState"}},
		{name: "verify without state", method: "POST", path: "/api/violations/verification-state/" + id,
			body: `{}`, status: 400, errType: "InvalidRequestException", contains: []string{"verificationState"}},
		{name: "verify with another id in the body", method: "POST", path: "/api/violations/verification-state/" + id,
			body: `{"violationId":"abc","verificationState":"BENIGN_POSITIVE"}`, status: 400, errType: "InvalidRequestException"},
		{name: "verify missing violation", method: "POST", path: "/api/violations/verification-state/0123456789abcdef0123456789abcdef",
			body: `{"verificationState":"FALSE_POSITIVE"}`, status: 404, errType: "ResourceNotFoundException"},
		{name: "filter by state", method: "GET", path: "/api/active-violations?verificationState=TRUE_POSITIVE", status: 200,
			contains: []string{id, `"verificationStateDescription":"opened by a test"`}},
		{name: "filter by other state", method: "GET", path: "/api/active-violations?verificationState=FALSE_POSITIVE", status: 200,
			contains: []string{`"activeViolations":[]`}},
		{name: "filter by thing", method: "GET", path: "/api/active-violations?thingName=cam-2", status: 200,
			contains: []string{`"activeViolations":[]`}},
		{name: "filter by profile and criteria type", method: "GET",
			path: "/api/active-violations?securityProfileName=ports&behaviorCriteriaType=STATIC&listSuppressedAlerts=true", status: 200,
			contains: []string{id}},
		{name: "bad criteria type", method: "GET", path: "/api/active-violations?behaviorCriteriaType=FUZZY",
			status: 400, errType: "InvalidRequestException", contains: []string{"behaviorCriteriaType"}},
		{name: "bad verification state", method: "GET", path: "/api/active-violations?verificationState=MAYBE",
			status: 400, errType: "InvalidRequestException", contains: []string{"verificationState"}},
		{name: "bad listSuppressedAlerts", method: "GET", path: "/api/active-violations?listSuppressedAlerts=perhaps",
			status: 400, errType: "InvalidRequestException", contains: []string{"listSuppressedAlerts"}},
	})

	cleared := t0.Add(5 * time.Minute)
	e.clock.Set(cleared)
	e.report("cam-1", 8888) // compliant: the alarm clears
	if r := e.must("GET", "/api/active-violations", ""); len(list(t, r, "activeViolations")) != 0 {
		t.Errorf("still active: %s", r.Raw)
	}

	window := fmt.Sprintf("startTime=%d&endTime=%d", t0.Add(-time.Hour).Unix(), t0.Add(time.Hour).Unix())
	events := list(t, e.must("GET", "/api/violation-events?"+window, ""), "violationEvents")
	if len(events) != 2 {
		t.Fatalf("events: %v", events)
	}
	alarm, clear := events[0].(map[string]any), events[1].(map[string]any)
	if alarm["violationEventType"] != "in-alarm" || alarm["violationEventTime"] != t0Seconds || field(alarm, "violationId") != id {
		t.Errorf("in-alarm event: %v", alarm)
	}
	if clear["violationEventType"] != "alarm-cleared" || clear["violationEventTime"] != seconds(cleared) ||
		clear["violationStartTime"] != t0Seconds || field(clear, "violationId") != id {
		t.Errorf("alarm-cleared event: %v", clear)
	}
	if clear["verificationState"] != "TRUE_POSITIVE" || alarm["verificationState"] != "TRUE_POSITIVE" {
		t.Errorf("verification state not on events: %v", events)
	}
	if !sameJSON(t, clear["metricValue"], map[string]any{"ports": []int{8888}}) {
		t.Errorf("metricValue: %v", clear["metricValue"])
	}

	rfc := "startTime=" + url.QueryEscape(t0.Add(-time.Second).Format(time.RFC3339Nano)) +
		"&endTime=" + url.QueryEscape(t0.Add(time.Second).Format(time.RFC3339))
	e.run(t, []step{
		{name: "RFC 3339 window", method: "GET", path: "/api/violation-events?" + rfc, status: 200,
			check: func(t *testing.T, r response) {
				if got := list(t, r, "violationEvents"); len(got) != 1 || field(got[0], "violationEventType") != "in-alarm" {
					t.Errorf("events: %s", r.Raw)
				}
			}},
		{name: "fractional seconds window", method: "GET",
			path:   fmt.Sprintf("/api/violation-events?startTime=%.3f&endTime=%.3f", seconds(cleared), seconds(cleared)+0.001),
			status: 200, contains: []string{"alarm-cleared"}},
		{name: "filter by type and state", method: "GET", path: "/api/violation-events?" + window + "&thingName=cam-1&verificationState=TRUE_POSITIVE",
			status: 200, contains: []string{"in-alarm", "alarm-cleared"}},
		{name: "filter by other thing", method: "GET", path: "/api/violation-events?" + window + "&thingName=cam-2", status: 200,
			contains: []string{`"violationEvents":[]`}},
		{name: "no endTime", method: "GET", path: "/api/violation-events?startTime=1", status: 400, errType: "InvalidRequestException",
			contains: []string{"endTime"}},
		{name: "no startTime", method: "GET", path: "/api/violation-events?endTime=1", status: 400, errType: "InvalidRequestException",
			contains: []string{"startTime"}},
		{name: "bad time", method: "GET", path: "/api/violation-events?startTime=yesterday&endTime=1", status: 400,
			errType: "InvalidRequestException", contains: []string{"startTime"}},
		{name: "end before start", method: "GET", path: "/api/violation-events?startTime=10&endTime=5", status: 400,
			errType: "InvalidRequestException", contains: []string{"endTime"}},
	})

	// Paging through events, one per page.
	first := e.must("GET", "/api/violation-events?"+window+"&maxResults=1", "")
	token, _ := first.Body["nextToken"].(string)
	if len(list(t, first, "violationEvents")) != 1 || token == "" {
		t.Fatalf("first page: %s", first.Raw)
	}
	second := e.must("GET", "/api/violation-events?"+window+"&maxResults=1&nextToken="+url.QueryEscape(token), "")
	if got := list(t, second, "violationEvents"); len(got) != 1 || field(got[0], "violationEventType") != "alarm-cleared" ||
		second.Body["nextToken"] != nil {
		t.Errorf("second page: %s", second.Raw)
	}
	if r := e.call("GET", "/api/violation-events?"+window+"&nextToken=%21%21", ""); r.Status != 400 || r.errType() != "InvalidRequestException" {
		t.Errorf("bad token: %d %s", r.Status, r.Raw)
	}
}

func TestActiveViolationPages(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/security-profiles/ports", `{"behaviors":[{"name":"OnlyAlt","metric":"aws:listening-tcp-ports",
		"criteria":{"comparisonOperator":"in-port-set","value":{"ports":[8888]}}}]}`)
	e.must("PUT", "/api/security-profiles/ports/targets?securityProfileTargetArn=all/things", "")
	for _, thing := range []string{"t3", "t1", "t2"} {
		e.report(thing, 22)
	}
	var things []string
	token := ""
	for page := 1; ; page++ {
		path := "/api/active-violations?maxResults=1"
		if token != "" {
			path += "&nextToken=" + url.QueryEscape(token)
		}
		r := e.must("GET", path, "")
		for _, v := range list(t, r, "activeViolations") {
			things = append(things, field(v, "thingName"))
		}
		token, _ = r.Body["nextToken"].(string)
		if token == "" {
			if page != 3 {
				t.Errorf("%d pages, want 3", page)
			}
			break
		}
		if page == 3 {
			t.Fatalf("a token after the third page: %s", r.Raw)
		}
	}
	if fmt.Sprint(things) != "[t1 t2 t3]" {
		t.Errorf("things %v, want [t1 t2 t3]", things)
	}
}
