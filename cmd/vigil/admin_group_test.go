package main

import (
	"net/http"
	"testing"
)

func TestGroupCommands(t *testing.T) {
	runCases(t, []cliCase{
		{
			name:    "create with parent and description",
			args:    []string{"group", "create", "lyon", "--parent", "cameras", "--description", "cameras in Lyon"},
			replies: map[string][]reply{"POST /api/thing-groups/lyon": {okReply(`{"thingGroupName":"lyon"}`)}},
			stdout:  "created group lyon\n",
			requests: []wantRequest{{method: "POST", path: "/api/thing-groups/lyon",
				body: `{"parentGroupName":"cameras","thingGroupProperties":{"thingGroupDescription":"cameras in Lyon"}}`}},
		},
		{
			name:     "create a root group",
			args:     []string{"group", "create", "cameras"},
			replies:  map[string][]reply{"POST /api/thing-groups/cameras": {okReply(`{"thingGroupName":"cameras"}`)}},
			stdout:   "created group cameras\n",
			requests: []wantRequest{{method: "POST", path: "/api/thing-groups/cameras", body: `{}`}},
		},
		{
			name: "get reads the AWS shape",
			args: []string{"group", "get", "lyon"},
			replies: map[string][]reply{"GET /api/thing-groups/lyon": {okReply(`{"thingGroupName":"lyon","version":1,` +
				`"thingGroupProperties":{"thingGroupDescription":"cameras in Lyon","attributePayload":{"attributes":{}}},` +
				`"thingGroupMetadata":{"parentGroupName":"cameras","creationDate":1700000000.25}}`)}},
			stdout: outLines(
				"NAME  PARENT   DESCRIPTION      VERSION  CREATED",
				"lyon  cameras  cameras in Lyon  1        2023-11-14T22:13:20Z"),
			requests: []wantRequest{{method: "GET", path: "/api/thing-groups/lyon"}},
		},
		{
			name:     "ls shows only the columns the server fills",
			args:     []string{"group", "ls"},
			replies:  map[string][]reply{"GET /api/thing-groups": {okReply(`{"thingGroups":[{"groupName":"cameras","groupArn":"arn:a"},{"groupName":"lyon","groupArn":"arn:b"}]}`)}},
			stdout:   outLines("NAME", "cameras", "lyon"),
			requests: []wantRequest{{method: "GET", path: "/api/thing-groups"}},
		},
		{
			name:     "rm",
			args:     []string{"group", "rm", "lyon"},
			replies:  map[string][]reply{"DELETE /api/thing-groups/lyon": {okReply(`{}`)}},
			stdout:   "deleted group lyon\n",
			requests: []wantRequest{{method: "DELETE", path: "/api/thing-groups/lyon"}},
		},
		{
			name:    "add",
			args:    []string{"group", "add", "lyon", "cam-01"},
			replies: map[string][]reply{"PUT /api/thing-groups/addThingToThingGroup": {okReply(`{}`)}},
			stdout:  "added thing cam-01 to group lyon\n",
			requests: []wantRequest{{method: "PUT", path: "/api/thing-groups/addThingToThingGroup",
				body: `{"thingGroupName":"lyon","thingName":"cam-01"}`}},
		},
		{
			name:      "add needs a group and a thing",
			args:      []string{"group", "add", "lyon"},
			code:      2,
			stderrHas: "accepts 2 arg(s), received 1",
		},
		{
			name:    "remove",
			args:    []string{"group", "remove", "lyon", "cam-01"},
			replies: map[string][]reply{"PUT /api/thing-groups/removeThingFromThingGroup": {awsError(http.StatusNotFound, "ResourceNotFoundException", `thing "cam-01" is not in thing group "lyon"`)}},
			code:    1,
			stderr:  "vigil: thing \"cam-01\" is not in thing group \"lyon\" (HTTP 404 ResourceNotFoundException)\n",
			requests: []wantRequest{{method: "PUT", path: "/api/thing-groups/removeThingFromThingGroup",
				body: `{"thingGroupName":"lyon","thingName":"cam-01"}`}},
		},
		{
			name:     "things",
			args:     []string{"group", "things", "cameras"},
			replies:  map[string][]reply{"GET /api/thing-groups/cameras/things": {okReply(`{"things":["cam-01","cam-02"]}`)}},
			stdout:   outLines("THING", "cam-01", "cam-02"),
			requests: []wantRequest{{method: "GET", path: "/api/thing-groups/cameras/things"}},
		},
		{
			name:     "things recursive",
			args:     []string{"group", "things", "cameras", "--recursive", "-o", "json"},
			replies:  map[string][]reply{"GET /api/thing-groups/cameras/things": {okReply(`{"things":["cam-01"]}`)}},
			stdout:   outLines("{", `  "things": [`, `    "cam-01"`, "  ]", "}"),
			requests: []wantRequest{{method: "GET", path: "/api/thing-groups/cameras/things", query: map[string]string{"recursive": "true"}}},
		},
	})
}

func TestCustomMetricCommands(t *testing.T) {
	runCases(t, []cliCase{
		{
			name:    "create",
			args:    []string{"custom-metric", "create", "batteryPercentage", "--type", "number", "--display-name", "Battery (%)"},
			replies: map[string][]reply{"POST /api/custom-metric/batteryPercentage": {okReply(`{"metricName":"batteryPercentage","metricArn":"arn:m"}`)}},
			stdout:  "created custom metric batteryPercentage (number)\n",
			requests: []wantRequest{{method: "POST", path: "/api/custom-metric/batteryPercentage",
				body: `{"metricType":"number","displayName":"Battery (%)","clientRequestToken":"*"}`}},
		},
		{
			name:   "create needs a type",
			args:   []string{"custom-metric", "create", "batteryPercentage"},
			code:   2,
			stderr: "vigil: --type is required\n",
		},
		{
			name:   "create with an unknown type",
			args:   []string{"custom-metric", "create", "x", "--type", "float"},
			code:   2,
			stderr: "vigil: --type \"float\": want number, number-list, string-list or ip-address-list\n",
		},
		{
			name: "get",
			args: []string{"custom-metric", "get", "remoteHosts"},
			replies: map[string][]reply{"GET /api/custom-metric/remoteHosts": {okReply(`{"metricName":"remoteHosts","metricType":"ip-address-list",` +
				`"creationDate":1700000000.0,"lastModifiedDate":1700086400.5}`)}},
			stdout: outLines(
				"NAME         TYPE             CREATED               MODIFIED",
				"remoteHosts  ip-address-list  2023-11-14T22:13:20Z  2023-11-15T22:13:20Z"),
			requests: []wantRequest{{method: "GET", path: "/api/custom-metric/remoteHosts"}},
		},
		{
			name:     "ls lists names",
			args:     []string{"custom-metric", "ls"},
			replies:  map[string][]reply{"GET /api/custom-metrics": {okReply(`{"metricNames":["batteryPercentage","remoteHosts"]}`)}},
			stdout:   outLines("NAME", "batteryPercentage", "remoteHosts"),
			requests: []wantRequest{{method: "GET", path: "/api/custom-metrics"}},
		},
		{
			name:     "rm of a metric in use",
			args:     []string{"custom-metric", "rm", "batteryPercentage"},
			replies:  map[string][]reply{"DELETE /api/custom-metric/batteryPercentage": {awsError(http.StatusConflict, "DeleteConflictException", `custom metric "batteryPercentage" is used by security profile "cameras"`)}},
			code:     1,
			stderr:   "vigil: custom metric \"batteryPercentage\" is used by security profile \"cameras\" (HTTP 409 DeleteConflictException)\n",
			requests: []wantRequest{{method: "DELETE", path: "/api/custom-metric/batteryPercentage"}},
		},
		{
			name:     "rm",
			args:     []string{"custom-metric", "rm", "batteryPercentage"},
			replies:  map[string][]reply{"DELETE /api/custom-metric/batteryPercentage": {okReply(`{}`)}},
			stdout:   "deleted custom metric batteryPercentage\n",
			requests: []wantRequest{{method: "DELETE", path: "/api/custom-metric/batteryPercentage"}},
		},
	})
}
