package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/vigil-iot/vigil/detector/registry"
)

const portsProfile = `{"securityProfileDescription":"ports","behaviors":[{"name":"Ports","metric":"aws:listening-tcp-ports",
	"criteria":{"comparisonOperator":"in-port-set","value":{"ports":[22,443]}}}]}`

// t0Seconds is t0 as the API writes it.
const t0Seconds = 1704164645.678

func TestProfileLifecycle(t *testing.T) {
	e := newEnv(t)
	e.run(t, []step{
		{name: "create", method: "POST", path: "/api/security-profiles/ports", body: portsProfile, status: 200,
			check: func(t *testing.T, r response) {
				if r.Body["securityProfileName"] != "ports" || r.Body["securityProfileArn"] != registry.ARNPrefix+"securityprofile/ports" {
					t.Errorf("answer %s", r.Raw)
				}
			}},
		{name: "create again", method: "POST", path: "/api/security-profiles/ports", body: portsProfile,
			status: 409, errType: "ResourceAlreadyExistsException",
			contains: []string{`"resourceArn":"` + registry.ARNPrefix + `securityprofile/ports"`, `"resourceId":"ports"`}},
		{name: "body name differs from path", method: "POST", path: "/api/security-profiles/other",
			body: `{"securityProfileName":"ports","behaviors":[]}`, status: 400, errType: "InvalidRequestException",
			contains: []string{"securityProfileName"}},
		{name: "describe", method: "GET", path: "/api/security-profiles/ports", status: 200,
			check: func(t *testing.T, r response) {
				if r.Body["version"] != 1.0 || r.Body["creationDate"] != t0Seconds || r.Body["lastModifiedDate"] != t0Seconds {
					t.Errorf("version and dates: %s", r.Raw)
				}
				if len(list(t, r, "behaviors")) != 1 || r.Body["securityProfileDescription"] != "ports" {
					t.Errorf("profile: %s", r.Raw)
				}
			}},
		{name: "describe missing", method: "GET", path: "/api/security-profiles/nope", status: 404, errType: "ResourceNotFoundException"},
		{name: "update at wrong version", method: "PATCH", path: "/api/security-profiles/ports?expectedVersion=7",
			body: `{"securityProfileDescription":"x"}`, status: 409, errType: "VersionConflictException"},
		{name: "update with a behavior and deleteBehaviors", method: "PATCH", path: "/api/security-profiles/ports",
			body: `{"behaviors":[],"deleteBehaviors":true}`, status: 400, errType: "InvalidRequestException", contains: []string{"behaviors"}},
		{name: "update body and query versions differ", method: "PATCH", path: "/api/security-profiles/ports?expectedVersion=1",
			body: `{"expectedVersion":2}`, status: 400, errType: "InvalidRequestException", contains: []string{"expectedVersion"}},
		{name: "update", method: "PATCH", path: "/api/security-profiles/ports?expectedVersion=1",
			body: `{"securityProfileDescription":"ports, v2","alertTargets":{"MQTT":{"topic":"alerts/ports"}}}`, status: 200,
			check: func(t *testing.T, r response) {
				if r.Body["version"] != 2.0 || r.Body["securityProfileDescription"] != "ports, v2" || len(list(t, r, "behaviors")) != 1 {
					t.Errorf("updated profile: %s", r.Raw)
				}
				if r.Body["securityProfileArn"] != registry.ARNPrefix+"securityprofile/ports" || r.Body["alertTargets"] == nil {
					t.Errorf("updated profile: %s", r.Raw)
				}
			}},
		{name: "update with the version in the body, as CLI files hold it", method: "PATCH", path: "/api/security-profiles/ports",
			body: `{"securityProfileName":"ports","expectedVersion":2,"deleteAlertTargets":true}`, status: 200,
			check: func(t *testing.T, r response) {
				if r.Body["version"] != 3.0 || r.Body["alertTargets"] != nil {
					t.Errorf("updated profile: %s", r.Raw)
				}
			}},
		{name: "update missing", method: "PATCH", path: "/api/security-profiles/nope", body: `{}`, status: 404, errType: "ResourceNotFoundException"},
		{name: "bad expectedVersion", method: "DELETE", path: "/api/security-profiles/ports?expectedVersion=two",
			status: 400, errType: "InvalidRequestException", contains: []string{"expectedVersion"}},
		{name: "delete at wrong version", method: "DELETE", path: "/api/security-profiles/ports?expectedVersion=1",
			status: 409, errType: "VersionConflictException"},
		{name: "delete", method: "DELETE", path: "/api/security-profiles/ports?expectedVersion=3", status: 200},
		{name: "describe deleted", method: "GET", path: "/api/security-profiles/ports", status: 404, errType: "ResourceNotFoundException"},
		{name: "delete deleted", method: "DELETE", path: "/api/security-profiles/ports", status: 404, errType: "ResourceNotFoundException"},
	})
}

func TestInvalidProfileNamesBehaviorAndField(t *testing.T) {
	e := newEnv(t)
	body := `{"behaviors":[
		{"name":"BadOperator","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"in-port-set","value":{"count":10}}},
		{"name":"NoValue","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set"}}]}`
	e.run(t, []step{
		{name: "create", method: "POST", path: "/api/security-profiles/bad", body: body, status: 400, errType: "InvalidRequestException",
			contains: []string{"behaviors[0](BadOperator).criteria.comparisonOperator", "behaviors[1](NoValue).criteria.value"}},
		{name: "not created", method: "GET", path: "/api/security-profiles/bad", status: 404, errType: "ResourceNotFoundException"},
		{name: "update", method: "POST", path: "/api/security-profiles/good", body: portsProfile, status: 200},
		{name: "invalid update", method: "PATCH", path: "/api/security-profiles/good", body: body, status: 400,
			errType: "InvalidRequestException", contains: []string{"behaviors[1](NoValue).criteria.value"}},
		{name: "unchanged", method: "GET", path: "/api/security-profiles/good", status: 200, contains: []string{`"version":1`}},
		{name: "unknown alert target type", method: "POST", path: "/api/security-profiles/alerts",
			body: `{"alertTargets":{"PAGER":{"topic":"x"}}}`, status: 400, errType: "InvalidRequestException",
			contains: []string{"alertTargets.PAGER"}},
	})
}

func TestAWSProfileFileAppliesUnchanged(t *testing.T) {
	e := newEnv(t)
	data, err := os.ReadFile("testdata/aws-profile.json")
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	name := file["securityProfileName"].(string)
	created := e.must("POST", "/api/security-profiles/"+name, string(data))
	if created.Body["securityProfileName"] != name {
		t.Fatalf("created %s", created.Raw)
	}
	got := e.must("GET", "/api/security-profiles/"+name, "")
	for _, key := range []string{"securityProfileDescription", "behaviors", "alertTargets", "additionalMetricsToRetainV2"} {
		if !sameJSON(t, got.Body[key], file[key]) {
			t.Errorf("%s changed:\n got %v\nwant %v", key, got.Body[key], file[key])
		}
	}
	// The same behaviors pass the validate call, and can be applied again
	// as an update.
	behaviors, _ := json.Marshal(map[string]any{"behaviors": file["behaviors"]})
	if v := e.must("POST", "/api/security-profile-behaviors/validate", string(behaviors)); v.Body["valid"] != true {
		t.Errorf("validate: %s", v.Raw)
	}
	delete(file, "tags")
	update, _ := json.Marshal(file)
	if u := e.must("PATCH", "/api/security-profiles/"+name, string(update)); u.Body["version"] != 2.0 {
		t.Errorf("update: %s", u.Raw)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	e := newEnv(t)
	body := `{"behaviors":[
		{"name":"bad name!","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":10}}},
		{"name":"WrongOperator","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"in-port-set","value":{"count":10}}},
		{"name":"NoSuchMetric","metric":"aws:no-such-metric","criteria":{"comparisonOperator":"less-than","value":{"count":1}}},
		{"name":"TooMany","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"consecutiveDatapointsToAlarm":11}},
		{"name":"Fine","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1}}}]}`
	r := e.must("POST", "/api/security-profile-behaviors/validate", body)
	if r.Body["valid"] != false {
		t.Fatalf("valid: %s", r.Raw)
	}
	var messages []string
	for _, v := range list(t, r, "validationErrors") {
		messages = append(messages, field(v, "errorMessage"))
	}
	for _, want := range []string{
		"behaviors[0](bad name!).name",
		"behaviors[1](WrongOperator).criteria.comparisonOperator",
		"behaviors[2](NoSuchMetric).metric",
		"behaviors[3](TooMany).criteria.consecutiveDatapointsToAlarm",
	} {
		found := false
		for _, m := range messages {
			found = found || strings.HasPrefix(m, want+":")
		}
		if !found {
			t.Errorf("no error for %s in %q", want, messages)
		}
	}
	for _, m := range messages {
		if strings.Contains(m, "Fine") {
			t.Errorf("error for a valid behavior: %q", m)
		}
	}
	e.run(t, []step{
		{name: "valid", method: "POST", path: "/api/security-profile-behaviors/validate", body: `{"behaviors":[]}`, status: 200,
			contains: []string{`"valid":true`, `"validationErrors":[]`}},
		{name: "custom metric known", method: "POST", path: "/api/custom-metric/battery", body: `{"metricType":"number"}`, status: 200},
		{name: "custom metric behavior", method: "POST", path: "/api/security-profile-behaviors/validate",
			body:   `{"behaviors":[{"name":"Low","metric":"battery","criteria":{"comparisonOperator":"greater-than","value":{"number":20}}}]}`,
			status: 200, contains: []string{`"valid":true`}},
		{name: "behaviors missing", method: "POST", path: "/api/security-profile-behaviors/validate", body: `{}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"behaviors"}},
	})
}

func TestTargets(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"p1", "p2", "p3", "p4", "p5", "p6"} {
		e.must("POST", "/api/security-profiles/"+name, portsProfile)
	}
	e.must("POST", "/api/thing-groups/g1", "")
	e.must("POST", "/api/thing-groups/g2", `{"parentGroupName":"g1"}`)
	arn := func(s string) string { return registry.ARNPrefix + s }
	mappings := func(want ...string) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			var got []string
			for _, m := range list(t, r, "securityProfileTargetMappings") {
				mm := m.(map[string]any)
				got = append(got, field(mm["securityProfileIdentifier"], "name")+"@"+field(mm["target"], "arn"))
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("mappings %q, want %q", got, want)
			}
		}
	}
	e.run(t, []step{
		{name: "attach all things", method: "PUT", path: "/api/security-profiles/p1/targets?securityProfileTargetArn=all/things", status: 200},
		{name: "attach an AWS group ARN", method: "PUT",
			path: "/api/security-profiles/p1/targets?securityProfileTargetArn=arn:aws:iot:us-east-1:123456789012:thinggroup/g1", status: 200},
		{name: "attach child group", method: "PUT", path: "/api/security-profiles/p2/targets?securityProfileTargetArn=" + arn("thinggroup/g2"), status: 200},
		{name: "bad target", method: "PUT", path: "/api/security-profiles/p1/targets?securityProfileTargetArn=all/robots",
			status: 400, errType: "InvalidRequestException", contains: []string{"securityProfileTargetArn"}},
		{name: "no target", method: "PUT", path: "/api/security-profiles/p1/targets",
			status: 400, errType: "InvalidRequestException", contains: []string{"securityProfileTargetArn"}},
		{name: "unknown profile", method: "PUT", path: "/api/security-profiles/nope/targets?securityProfileTargetArn=all/things",
			status: 404, errType: "ResourceNotFoundException"},
		{name: "unknown group", method: "PUT", path: "/api/security-profiles/p1/targets?securityProfileTargetArn=thinggroup/nope",
			status: 404, errType: "ResourceNotFoundException"},
		{name: "list targets", method: "GET", path: "/api/security-profiles/p1/targets", status: 200,
			check: func(t *testing.T, r response) {
				got := list(t, r, "securityProfileTargets")
				if len(got) != 2 || field(got[0], "arn") != arn("all/things") || field(got[1], "arn") != arn("thinggroup/g1") {
					t.Errorf("targets: %s", r.Raw)
				}
			}},
		{name: "list targets of missing profile", method: "GET", path: "/api/security-profiles/nope/targets",
			status: 404, errType: "ResourceNotFoundException"},
		{name: "profiles for child group", method: "GET", path: "/api/security-profiles-for-target?securityProfileTargetArn=thinggroup/g2",
			status: 200, check: mappings("p2@" + arn("thinggroup/g2"))},
		{name: "profiles for child group, recursive", method: "GET",
			path:   "/api/security-profiles-for-target?securityProfileTargetArn=thinggroup/g2&recursive=true",
			status: 200, check: mappings("p1@"+arn("thinggroup/g1"), "p2@"+arn("thinggroup/g2"))},
		{name: "profiles for missing group", method: "GET", path: "/api/security-profiles-for-target?securityProfileTargetArn=thinggroup/nope",
			status: 404, errType: "ResourceNotFoundException"},
		{name: "profiles for target without target", method: "GET", path: "/api/security-profiles-for-target",
			status: 400, errType: "InvalidRequestException"},
		{name: "detach", method: "DELETE", path: "/api/security-profiles/p1/targets?securityProfileTargetArn=all/things", status: 200},
		{name: "detach again", method: "DELETE", path: "/api/security-profiles/p1/targets?securityProfileTargetArn=all/things",
			status: 404, errType: "ResourceNotFoundException"},
	})
	for _, name := range []string{"p1", "p2", "p3", "p4", "p5"} {
		e.must("PUT", "/api/security-profiles/"+name+"/targets?securityProfileTargetArn=all/registered-things", "")
	}
	e.run(t, []step{
		{name: "sixth profile on a target", method: "PUT", path: "/api/security-profiles/p6/targets?securityProfileTargetArn=all/registered-things",
			status: 410, errType: "LimitExceededException"},
	})
}

func TestListProfilesFilters(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/security-profiles/ports", portsProfile)
	e.must("POST", "/api/security-profiles/bytes", `{"behaviors":[{"name":"Out","metric":"aws:all-bytes-out",
		"criteria":{"comparisonOperator":"less-than","value":{"count":100}}}],
		"additionalMetricsToRetainV2":[{"metric":"aws:num-established-tcp-connections"}]}`)
	names := func(want ...string) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			var got []string
			for _, p := range list(t, r, "securityProfileIdentifiers") {
				got = append(got, field(p, "name"))
				if field(p, "arn") != registry.ARNPrefix+"securityprofile/"+field(p, "name") {
					t.Errorf("arn: %v", p)
				}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("profiles %q, want %q", got, want)
			}
		}
	}
	e.run(t, []step{
		{name: "all", method: "GET", path: "/api/security-profiles", status: 200, check: names("bytes", "ports")},
		{name: "by behavior metric", method: "GET", path: "/api/security-profiles?metricName=aws:listening-tcp-ports", status: 200, check: names("ports")},
		{name: "by retained metric", method: "GET", path: "/api/security-profiles?metricName=aws:num-established-tcp-connections",
			status: 200, check: names("bytes")},
		{name: "by dimension", method: "GET", path: "/api/security-profiles?dimensionName=TopicFilter", status: 200, check: names()},
		{name: "both filters", method: "GET", path: "/api/security-profiles?dimensionName=d&metricName=m", status: http.StatusBadRequest,
			errType: "InvalidRequestException"},
	})
}
