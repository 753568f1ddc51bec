package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/api"
)

func TestBodies(t *testing.T) {
	e := newEnv(t)
	e.run(t, []step{
		{name: "not JSON", method: "POST", path: "/api/security-profiles/p", body: "{\n  \"behaviors\": [}",
			status: 400, errType: "InvalidRequestException", contains: []string{"not valid JSON", "byte 18 (line 2, column 17)"}},
		{name: "cut short", method: "POST", path: "/api/security-profiles/p", body: `{"behaviors": [`,
			status: 400, errType: "InvalidRequestException", contains: []string{"ends before"}},
		{name: "unknown fields, each named", method: "POST", path: "/api/security-profiles/p",
			body: `{"securityProfileDescripton":"typo","behaviors":[{"name":"B","metric":"aws:all-bytes-out",
				"criteria":{"comparisonOperator":"less-than","valeu":{"count":1}}}]}`,
			status: 400, errType: "InvalidRequestException",
			contains: []string{"behaviors[0].criteria.valeu", "securityProfileDescripton"}},
		{name: "unknown field in a map value", method: "POST", path: "/api/security-profiles/p",
			body:   `{"alertTargets":{"SNS":{"alertTargetArn":"a","roleArn":"r","topicArn":"t"}}}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"alertTargets.SNS.topicArn"}},
		{name: "update-only field in a create", method: "POST", path: "/api/security-profiles/p", body: `{"deleteBehaviors":true}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"deleteBehaviors"}},
		{name: "wrong type", method: "POST", path: "/api/security-profiles/p",
			body:   `{"behaviors":[{"name":"B","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":"ten"}}}]}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"count", "non-negative integer"}},
		{name: "not an object", method: "POST", path: "/api/security-profiles/p", body: `[]`,
			status: 400, errType: "InvalidRequestException", contains: []string{"JSON object"}},
		{name: "two values", method: "POST", path: "/api/security-profiles/p", body: `{} {}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"after the JSON value"}},
		{name: "member names ignore case, as in AWS SDKs", method: "POST", path: "/api/things/t",
			body: `{"AttributePayload":{"Attributes":{"a":"b"}}}`, status: 200},
		{name: "empty body", method: "POST", path: "/api/things/u", status: 200},
		{name: "too large", method: "POST", path: "/api/things/big",
			body:   `{"attributePayload":{"attributes":{"a":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}}}`,
			status: http.StatusRequestEntityTooLarge, errType: "InvalidRequestException", contains: []string{"larger than"}},
	})
}

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	e.run(t, []step{
		{name: "healthz", method: "GET", path: "/healthz", status: 200, check: func(t *testing.T, r response) {
			if string(r.Raw) != "ok" {
				t.Errorf("body %q", r.Raw)
			}
		}},
		{name: "metrics", method: "GET", path: "/metrics", status: 200, contains: []string{"vigil_reports_accepted_total"}},
		{name: "index", method: "GET", path: "/", status: 200, contains: []string{"/api/security-profiles", "/api/violation-events"}},
		{name: "unknown page", method: "GET", path: "/nothing", status: 404},
		{name: "unknown operation", method: "GET", path: "/api/nothing", status: 404, errType: "UnknownOperationException",
			contains: []string{"/api/nothing"}},
		{name: "wrong method", method: "PATCH", path: "/api/things/t1", status: 405, errType: "MethodNotAllowedException",
			check: func(t *testing.T, r response) {
				if got := r.Header.Get("Allow"); got != "GET, POST, DELETE" {
					t.Errorf("Allow %q", got)
				}
			}},
		{name: "membership is not a group", method: "GET", path: "/api/thing-groups/addThingToThingGroup",
			status: 404, errType: "ResourceNotFoundException"},
		{name: "membership takes PUT only", method: "DELETE", path: "/api/thing-groups/removeThingFromThingGroup",
			status: 404, errType: "ResourceNotFoundException"},
	})
}

func TestExtraHandlerAndNoService(t *testing.T) {
	extra := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "dashboard") })
	srv := httptest.NewServer(api.New(api.Options{Logger: zerolog.Nop(), Extra: extra}))
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), string(body)
	}
	if status, _, body := get("/some/page"); status != 200 || body != "dashboard" {
		t.Errorf("extra: %d %q", status, body)
	}
	if status, typ, _ := get("/api/things"); status != 503 || typ != "ServiceUnavailableException" {
		t.Errorf("no service: %d %s", status, typ)
	}
	if status, _, body := get("/healthz"); status != 200 || body != "ok" {
		t.Errorf("healthz: %d %q", status, body)
	}
}
