package api_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/registry"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestThings(t *testing.T) {
	e := newEnv(t)
	var id string
	e.run(t, []step{
		{name: "create", method: "POST", path: "/api/things/cam-1",
			body:   `{"thingName":"cam-1","thingTypeName":"Camera","attributePayload":{"attributes":{"model":"c1"},"merge":false},"password":"s3cret-pass"}`,
			status: 200, check: func(t *testing.T, r response) {
				id, _ = r.Body["thingId"].(string)
				if !uuidRE.MatchString(id) || r.Body["thingArn"] != registry.ARNPrefix+"thing/cam-1" || r.Body["thingName"] != "cam-1" {
					t.Errorf("answer %s", r.Raw)
				}
			}},
		{name: "create again, same attributes", method: "POST", path: "/api/things/cam-1",
			body: `{"attributePayload":{"attributes":{"model":"c1"}}}`, status: 200,
			check: func(t *testing.T, r response) {
				if r.Body["thingId"] != id {
					t.Errorf("thingId changed: %s, was %s", r.Raw, id)
				}
			}},
		{name: "create again, other attributes", method: "POST", path: "/api/things/cam-1",
			body: `{"attributePayload":{"attributes":{"model":"c2"}}}`, status: 409, errType: "ResourceAlreadyExistsException",
			check: func(t *testing.T, r response) {
				if r.Body["resourceId"] != id || r.Body["resourceArn"] != registry.ARNPrefix+"thing/cam-1" {
					t.Errorf("answer %s", r.Raw)
				}
			}},
		{name: "invalid name", method: "POST", path: "/api/things/bad%20name", status: 400, errType: "InvalidRequestException",
			contains: []string{"thingName"}},
		{name: "short password", method: "POST", path: "/api/things/cam-2", body: `{"password":"short"}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"password"}},
		{name: "describe", method: "GET", path: "/api/things/cam-1", status: 200,
			check: func(t *testing.T, r response) {
				if r.Body["thingId"] != id || r.Body["version"] != 1.0 || field(r.Body, "thingArn") == "" {
					t.Errorf("answer %s", r.Raw)
				}
				if attrs, _ := r.Body["attributes"].(map[string]any); attrs["model"] != "c1" {
					t.Errorf("attributes: %s", r.Raw)
				}
				if len(list(t, r, "thingGroups")) != 0 {
					t.Errorf("groups: %s", r.Raw)
				}
				if strings.Contains(strings.ToLower(string(r.Raw)), "password") || strings.Contains(string(r.Raw), "$2a$") {
					t.Errorf("password leaked: %s", r.Raw)
				}
			}},
		{name: "describe missing", method: "GET", path: "/api/things/nope", status: 404, errType: "ResourceNotFoundException"},
		{name: "set password", method: "PUT", path: "/api/things/cam-1/password", body: `{"password":"another-pass"}`, status: 200,
			contains: []string{"{}"}},
		{name: "set short password", method: "PUT", path: "/api/things/cam-1/password", body: `{"password":"short"}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"password"}},
		{name: "set no password", method: "PUT", path: "/api/things/cam-1/password", body: `{}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"password"}},
		{name: "set password of missing thing", method: "PUT", path: "/api/things/nope/password", body: `{"password":"another-pass"}`,
			status: 404, errType: "ResourceNotFoundException"},
		{name: "version grew with the password", method: "GET", path: "/api/things/cam-1", status: 200, contains: []string{`"version":2`}},
		{name: "plain thing", method: "POST", path: "/api/things/plain", status: 200},
		{name: "list", method: "GET", path: "/api/things", status: 200,
			check: func(t *testing.T, r response) {
				things := list(t, r, "things")
				if len(things) != 2 || field(things[0], "thingName") != "cam-1" || field(things[1], "thingName") != "plain" {
					t.Fatalf("things: %s", r.Raw)
				}
				if field(things[1], "thingArn") != registry.ARNPrefix+"thing/plain" || things[1].(map[string]any)["attributes"] == nil {
					t.Errorf("things: %s", r.Raw)
				}
			}},
		{name: "list by attribute", method: "GET", path: "/api/things?attributeName=model&attributeValue=c1", status: 200,
			check: func(t *testing.T, r response) {
				if things := list(t, r, "things"); len(things) != 1 || field(things[0], "thingName") != "cam-1" {
					t.Errorf("things: %s", r.Raw)
				}
			}},
		{name: "list by attribute prefix", method: "GET", path: "/api/things?attributeName=model&attributeValue=c&usePrefixAttributeValue=true",
			status: 200, contains: []string{"cam-1"}},
		{name: "delete at wrong version", method: "DELETE", path: "/api/things/cam-1?expectedVersion=1",
			status: 409, errType: "VersionConflictException"},
		{name: "delete", method: "DELETE", path: "/api/things/cam-1?expectedVersion=2", status: 200},
		{name: "delete again", method: "DELETE", path: "/api/things/cam-1", status: 404, errType: "ResourceNotFoundException"},
		{name: "describe deleted", method: "GET", path: "/api/things/cam-1", status: 404, errType: "ResourceNotFoundException"},
	})
	// A thing created again under the same name is a new thing: its id
	// differs.
	e.clock.Set(t0.Add(time.Minute))
	if r := e.must("POST", "/api/things/cam-1", ""); r.Body["thingId"] == id || !uuidRE.MatchString(field(r.Body, "thingId")) {
		t.Errorf("recreated thing: %s, old id %s", r.Raw, id)
	}
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/things/t1", "")
	var siteID string
	e.run(t, []step{
		{name: "create root", method: "POST", path: "/api/thing-groups/site",
			body:   `{"thingGroupName":"site","thingGroupProperties":{"thingGroupDescription":"Oslo site","attributePayload":{"attributes":{"city":"Oslo"}}},"tags":[{"Key":"a","Value":"b"}]}`,
			status: 200, check: func(t *testing.T, r response) {
				siteID, _ = r.Body["thingGroupId"].(string)
				if !uuidRE.MatchString(siteID) || r.Body["thingGroupArn"] != registry.ARNPrefix+"thinggroup/site" {
					t.Errorf("answer %s", r.Raw)
				}
			}},
		{name: "create child", method: "POST", path: "/api/thing-groups/room", body: `{"parentGroupName":"site"}`, status: 200},
		{name: "create grandchild", method: "POST", path: "/api/thing-groups/rack", body: `{"parentGroupName":"room"}`, status: 200},
		{name: "create again", method: "POST", path: "/api/thing-groups/site", status: 409, errType: "ResourceAlreadyExistsException",
			check: func(t *testing.T, r response) {
				if r.Body["resourceId"] != siteID || r.Body["resourceArn"] != registry.ARNPrefix+"thinggroup/site" {
					t.Errorf("answer %s", r.Raw)
				}
			}},
		{name: "missing parent", method: "POST", path: "/api/thing-groups/orphan", body: `{"parentGroupName":"nope"}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"parentGroupName"}},
		{name: "describe", method: "GET", path: "/api/thing-groups/rack", status: 200,
			check: func(t *testing.T, r response) {
				meta, _ := r.Body["thingGroupMetadata"].(map[string]any)
				if meta["parentGroupName"] != "room" || meta["creationDate"] != t0Seconds {
					t.Errorf("metadata: %s", r.Raw)
				}
				chain, _ := meta["rootToParentThingGroups"].([]any)
				if len(chain) != 2 || field(chain[0], "groupName") != "site" || field(chain[1], "groupName") != "room" ||
					field(chain[0], "groupArn") != registry.ARNPrefix+"thinggroup/site" {
					t.Errorf("rootToParentThingGroups: %s", r.Raw)
				}
			}},
		{name: "describe root", method: "GET", path: "/api/thing-groups/site", status: 200,
			contains: []string{`"thingGroupDescription":"Oslo site"`, `"city":"Oslo"`, `"rootToParentThingGroups":[]`, `"version":1`}},
		{name: "describe missing", method: "GET", path: "/api/thing-groups/nope", status: 404, errType: "ResourceNotFoundException"},
		{name: "add thing by group ARN", method: "PUT", path: "/api/thing-groups/addThingToThingGroup",
			body: `{"thingGroupArn":"arn:aws:iot:us-east-1:123456789012:thinggroup/rack","thingName":"t1","overrideDynamicGroups":false}`, status: 200},
		{name: "add with disagreeing name and ARN", method: "PUT", path: "/api/thing-groups/addThingToThingGroup",
			body:   `{"thingGroupName":"room","thingGroupArn":"arn:aws:iot:us-east-1:123456789012:thinggroup/rack","thingName":"t1"}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"thingGroupName"}},
		{name: "add without a group", method: "PUT", path: "/api/thing-groups/addThingToThingGroup", body: `{"thingName":"t1"}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"thingGroupName or thingGroupArn"}},
		{name: "add a missing thing", method: "PUT", path: "/api/thing-groups/addThingToThingGroup",
			body:   `{"thingGroupName":"rack","thingArn":"arn:aws:iot:us-east-1:123456789012:thing/nope"}`,
			status: 404, errType: "ResourceNotFoundException"},
		{name: "thing lists its groups", method: "GET", path: "/api/things/t1", status: 200, contains: []string{`"thingGroups":["rack"]`}},
		{name: "group things", method: "GET", path: "/api/thing-groups/site/things", status: 200, contains: []string{`"things":[]`}},
		{name: "group things, recursive", method: "GET", path: "/api/thing-groups/site/things?recursive=true", status: 200,
			contains: []string{`"things":["t1"]`}},
		{name: "things of missing group", method: "GET", path: "/api/thing-groups/nope/things", status: 404, errType: "ResourceNotFoundException"},
		{name: "list all", method: "GET", path: "/api/thing-groups", status: 200,
			contains: []string{`{"groupName":"rack","groupArn":"` + registry.ARNPrefix + `thinggroup/rack"}`, `"room"`, `"site"`}},
		{name: "list children", method: "GET", path: "/api/thing-groups?parentGroup=site", status: 200,
			check: groupNames("room")},
		{name: "list descendants", method: "GET", path: "/api/thing-groups?parentGroup=site&recursive=true", status: 200,
			check: groupNames("rack", "room")},
		{name: "list by prefix", method: "GET", path: "/api/thing-groups?namePrefixFilter=ro", status: 200, check: groupNames("room")},
		{name: "delete a group with children", method: "DELETE", path: "/api/thing-groups/room", status: 400, errType: "InvalidRequestException"},
		{name: "remove thing", method: "PUT", path: "/api/thing-groups/removeThingFromThingGroup",
			body: `{"thingGroupName":"rack","thingName":"t1"}`, status: 200},
		{name: "remove thing again", method: "PUT", path: "/api/thing-groups/removeThingFromThingGroup",
			body: `{"thingGroupName":"rack","thingName":"t1"}`, status: 404, errType: "ResourceNotFoundException"},
		{name: "delete at wrong version", method: "DELETE", path: "/api/thing-groups/rack?expectedVersion=3",
			status: 409, errType: "VersionConflictException"},
		{name: "delete", method: "DELETE", path: "/api/thing-groups/rack?expectedVersion=1", status: 200},
		{name: "delete again", method: "DELETE", path: "/api/thing-groups/rack", status: 404, errType: "ResourceNotFoundException"},
	})
}

func groupNames(want ...string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		var got []string
		for _, g := range list(t, r, "thingGroups") {
			got = append(got, field(g, "groupName"))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("groups %q, want %q", got, want)
		}
	}
}

func TestCustomMetrics(t *testing.T) {
	e := newEnv(t)
	arn := registry.ARNPrefix + "custommetric/battery"
	e.run(t, []step{
		{name: "create", method: "POST", path: "/api/custom-metric/battery",
			body:   `{"metricName":"battery","metricType":"number","displayName":"Battery %","tags":[{"Key":"a","Value":"b"}],"clientRequestToken":"t-1"}`,
			status: 200, contains: []string{`"metricName":"battery"`, `"metricArn":"` + arn + `"`}},
		{name: "create again", method: "POST", path: "/api/custom-metric/battery", body: `{"metricType":"number"}`,
			status: 409, errType: "ResourceAlreadyExistsException", contains: []string{`"resourceArn":"` + arn + `"`}},
		{name: "bad type", method: "POST", path: "/api/custom-metric/temp", body: `{"metricType":"float"}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"metricType"}},
		{name: "aws: prefix", method: "POST", path: "/api/custom-metric/aws:temp", body: `{"metricType":"number"}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"metricName"}},
		{name: "describe", method: "GET", path: "/api/custom-metric/battery", status: 200,
			check: func(t *testing.T, r response) {
				if r.Body["metricType"] != "number" || r.Body["displayName"] != "Battery %" || r.Body["metricArn"] != arn ||
					r.Body["creationDate"] != t0Seconds || r.Body["lastModifiedDate"] != t0Seconds {
					t.Errorf("answer %s", r.Raw)
				}
			}},
		{name: "describe missing", method: "GET", path: "/api/custom-metric/nope", status: 404, errType: "ResourceNotFoundException"},
		{name: "list", method: "GET", path: "/api/custom-metrics", status: 200, contains: []string{`"metricNames":["battery"]`}},
		{name: "profile using it", method: "POST", path: "/api/security-profiles/power",
			body:   `{"behaviors":[{"name":"Low","metric":"battery","criteria":{"comparisonOperator":"greater-than","value":{"number":20}}}]}`,
			status: 200},
		{name: "delete while used", method: "DELETE", path: "/api/custom-metric/battery", status: 409, errType: "DeleteConflictException",
			contains: []string{"power"}},
		{name: "delete the profile", method: "DELETE", path: "/api/security-profiles/power", status: 200},
		{name: "delete", method: "DELETE", path: "/api/custom-metric/battery", status: 200},
		{name: "delete again", method: "DELETE", path: "/api/custom-metric/battery", status: 404, errType: "ResourceNotFoundException"},
		{name: "list empty", method: "GET", path: "/api/custom-metrics", status: 200, contains: []string{`"metricNames":[]`}},
	})
}
