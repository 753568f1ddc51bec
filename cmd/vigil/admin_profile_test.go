package main

import (
	"net/http"
	"os"
	"testing"
)

// The fields of testdata/profile.{yaml,json} but the name and the tags, as
// the API receives them.
const camerasFields = `"securityProfileDescription":"IP cameras talk to few hosts",
	"behaviors":[
		{"name":"outbound-bytes","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals",
		 "value":{"count":1000000},"durationSeconds":300,"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":2}},
		{"name":"listening-ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[80,443]}}}],
	"alertTargets":{"MQTT":{"topic":"alerts/cameras"}}`

const (
	camerasCreate = `{` + camerasFields + `,"tags":[{"Key":"team","Value":"video"}]}`
	// camerasUpdate makes the profile exactly the file: what the file lacks
	// is deleted; tags are left out (they are set on creation only).
	camerasUpdate = `{` + camerasFields + `,"deleteAdditionalMetricsToRetain":true,"deleteMetricsExportConfig":true}`
)

var (
	profileExists = awsError(http.StatusConflict, "ResourceAlreadyExistsException", `security profile "cameras" already exists`)
	camerasAt3    = okReply(`{"securityProfileName":"cameras","behaviors":[],"version":3}`)
	camerasAt4    = okReply(`{"securityProfileName":"cameras","behaviors":[],"version":4}`)
)

// TestProfileApply checks that apply creates a profile, or updates an
// existing one at its current version into exactly the file, from YAML and
// JSON alike.
func TestProfileApply(t *testing.T) {
	const path = "/api/security-profiles/cameras"
	var cases []cliCase
	for _, file := range []string{"testdata/profile.yaml", "testdata/profile.json"} {
		cases = append(cases,
			cliCase{
				name:     "create from " + file,
				args:     []string{"profile", "apply", "-f", file},
				replies:  map[string][]reply{"POST " + path: {okReply(`{"securityProfileName":"cameras","securityProfileArn":"arn:p"}`)}},
				stdout:   "created cameras (version 1)\n",
				requests: []wantRequest{{method: "POST", path: path, body: camerasCreate}},
			},
			cliCase{
				name: "update from " + file,
				args: []string{"profile", "apply", "-f", file},
				replies: map[string][]reply{
					"POST " + path:  {profileExists},
					"GET " + path:   {camerasAt3},
					"PATCH " + path: {camerasAt4},
				},
				stdout: "updated cameras (version 4)\n",
				requests: []wantRequest{
					{method: "POST", path: path, body: camerasCreate},
					{method: "GET", path: path},
					{method: "PATCH", path: path, query: map[string]string{"expectedVersion": "3"}, body: camerasUpdate},
				},
			})
	}
	yaml, err := os.ReadFile("testdata/profile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, []cliCase{
		{
			name:     "from standard input",
			args:     []string{"profile", "apply", "-f", "-"},
			stdin:    string(yaml),
			replies:  map[string][]reply{"POST " + path: {okReply(`{}`)}},
			stdout:   "created cameras (version 1)\n",
			requests: []wantRequest{{method: "POST", path: path, body: camerasCreate}},
		},
		{
			name: "update clears what the file leaves out",
			args: []string{"profile", "apply", "-f", "testdata/profile-minimal.yaml"},
			replies: map[string][]reply{
				"POST /api/security-profiles/watch-only":  {profileExists},
				"GET /api/security-profiles/watch-only":   {okReply(`{"version":7}`)},
				"PATCH /api/security-profiles/watch-only": {okReply(`{"version":8}`)},
			},
			stdout: "updated watch-only (version 8)\n",
			requests: []wantRequest{
				{method: "POST", path: "/api/security-profiles/watch-only",
					body: `{"additionalMetricsToRetainV2":[{"metric":"aws:num-established-tcp-connections"}]}`},
				{method: "GET", path: "/api/security-profiles/watch-only"},
				{method: "PATCH", path: "/api/security-profiles/watch-only", query: map[string]string{"expectedVersion": "7"},
					body: `{"additionalMetricsToRetainV2":[{"metric":"aws:num-established-tcp-connections"}],"additionalMetricsToRetain":[],
						"securityProfileDescription":"","deleteBehaviors":true,"deleteAlertTargets":true,"deleteMetricsExportConfig":true}`},
			},
		},
		{
			name:    "the output of get applies as it is",
			args:    []string{"profile", "apply", "-f", "testdata/profile-described.json"},
			replies: map[string][]reply{"POST " + path: {okReply(`{}`)}},
			stdout:  "created cameras (version 1)\n",
			requests: []wantRequest{{method: "POST", path: path,
				body: `{"behaviors":[{"name":"few-ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[443]}}}]}`}},
		},
		{
			name: "targets are attached after the create",
			args: []string{"profile", "apply", "-f", "testdata/profile.json", "--target", "thinggroup/cameras",
				"--target", "arn:aws:iot:eu-west-1:123456789012:all/unregistered-things"},
			replies: map[string][]reply{
				"POST " + path:             {okReply(`{}`)},
				"PUT " + path + "/targets": {okReply(`{}`)},
			},
			stdout: outLines(
				"created cameras (version 1)",
				"attached cameras to thinggroup/cameras",
				"attached cameras to arn:aws:iot:eu-west-1:123456789012:all/unregistered-things"),
			requests: []wantRequest{
				{method: "POST", path: path, body: camerasCreate},
				{method: "PUT", path: path + "/targets", query: map[string]string{"securityProfileTargetArn": "thinggroup/cameras"}},
				{method: "PUT", path: path + "/targets", query: map[string]string{"securityProfileTargetArn": "arn:aws:iot:eu-west-1:123456789012:all/unregistered-things"}},
			},
		},
		{
			name: "json prints the update's answer",
			args: []string{"profile", "apply", "-f", "testdata/profile.yaml", "-o", "json"},
			replies: map[string][]reply{
				"POST " + path:  {profileExists},
				"GET " + path:   {camerasAt3},
				"PATCH " + path: {camerasAt4},
			},
			stdout: outLines("{", `  "securityProfileName": "cameras",`, `  "behaviors": [],`, `  "version": 4`, "}"),
			requests: []wantRequest{
				{method: "POST", path: path, body: camerasCreate},
				{method: "GET", path: path},
				{method: "PATCH", path: path, query: map[string]string{"expectedVersion": "3"}, body: camerasUpdate},
			},
		},
		{
			name: "a concurrent change fails the update",
			args: []string{"profile", "apply", "-f", "testdata/profile.yaml"},
			replies: map[string][]reply{
				"POST " + path:  {profileExists},
				"GET " + path:   {camerasAt3},
				"PATCH " + path: {awsError(http.StatusConflict, "VersionConflictException", `security profile "cameras" is at version 4, not 3`)},
			},
			code:   1,
			stderr: "vigil: security profile \"cameras\" is at version 4, not 3 (HTTP 409 VersionConflictException)\n",
			requests: []wantRequest{
				{method: "POST", path: path, body: camerasCreate},
				{method: "GET", path: path},
				{method: "PATCH", path: path, query: map[string]string{"expectedVersion": "3"}, body: camerasUpdate},
			},
		},
		{
			name:     "an invalid profile is not updated",
			args:     []string{"profile", "apply", "-f", "testdata/profile.yaml"},
			replies:  map[string][]reply{"POST " + path: {awsError(http.StatusBadRequest, "InvalidRequestException", "behaviors[0].metric: unknown")}},
			code:     1,
			stderr:   "vigil: behaviors[0].metric: unknown (HTTP 400 InvalidRequestException)\n",
			requests: []wantRequest{{method: "POST", path: path, body: camerasCreate}},
		},
		{
			name:      "a misspelt field is refused before any request",
			args:      []string{"profile", "apply", "-f", "testdata/profile-typo.yaml"},
			code:      1,
			stderrHas: `vigil: testdata/profile-typo.yaml: unknown field "behaviours"`,
		},
		{
			name:   "a file without a name",
			args:   []string{"profile", "apply", "-f", "testdata/profile-noname.json"},
			code:   1,
			stderr: "vigil: testdata/profile-noname.json: securityProfileName is missing\n",
		},
		{
			name:   "a file that is not an object",
			args:   []string{"profile", "apply", "-f", "-"},
			stdin:  "- a\n- b\n",
			code:   1,
			stderr: "vigil: standard input: want a security profile, a JSON or YAML object\n",
		},
		{
			name:      "a missing file",
			args:      []string{"profile", "apply", "-f", "testdata/nope.yaml"},
			code:      1,
			stderrHas: "no such file or directory",
		},
		{
			name:   "no file",
			args:   []string{"profile", "apply"},
			code:   2,
			stderr: "vigil: --file is required\n",
		},
		{
			name:      "a bad target is refused before any request",
			args:      []string{"profile", "apply", "-f", "testdata/profile.yaml", "--target", "cameras"},
			code:      2,
			stderrHas: `vigil: target "cameras": want all/things`,
		},
		{
			name:      "arguments",
			args:      []string{"profile", "apply", "testdata/profile.yaml"},
			code:      2,
			stderrHas: `unknown command "testdata/profile.yaml"`,
		},
	}...)
	runCases(t, cases)
}

func TestProfileCommands(t *testing.T) {
	const path = "/api/security-profiles/cameras"
	described := `{"securityProfileName":"cameras","securityProfileArn":"arn:p","securityProfileDescription":"IP cameras",` +
		`"behaviors":[` +
		`{"name":"outbound-bytes","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","value":{"count":1000000},"durationSeconds":300,"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":1}},` +
		`{"name":"fleet-outliers","metric":"aws:all-packets-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p90"},"durationSeconds":900}},` +
		`{"name":"ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[]}},"suppressAlerts":true}],` +
		`"version":2,"creationDate":1700000000.0,"lastModifiedDate":1700003600.5}`
	runCases(t, []cliCase{
		{
			name:     "get prints AWS JSON",
			args:     []string{"profile", "get", "cameras"},
			replies:  map[string][]reply{"GET " + path: {okReply(`{"securityProfileName":"cameras","behaviors":[],"version":2}`)}},
			stdout:   outLines("{", `  "securityProfileName": "cameras",`, `  "behaviors": [],`, `  "version": 2`, "}"),
			requests: []wantRequest{{method: "GET", path: path}},
		},
		{
			name:    "get table",
			args:    []string{"profile", "get", "cameras", "-o", "table"},
			replies: map[string][]reply{"GET " + path: {okReply(described)}},
			stdout: outLines(
				"NAME     VERSION  DESCRIPTION  MODIFIED",
				"cameras  2        IP cameras   2023-11-14T23:13:20Z",
				"",
				"BEHAVIOR        METRIC                   CRITERIA                           ALARM  CLEAR  SUPPRESSED",
				"outbound-bytes  aws:all-bytes-out        less-than-equals 1000000 for 300s  2      1      -",
				"fleet-outliers  aws:all-packets-out      less-than p90 for 900s             -      -      -",
				"ports           aws:listening-tcp-ports  in-port-set none                   -      -      true"),
			requests: []wantRequest{{method: "GET", path: path}},
		},
		{
			name:     "get of a missing profile",
			args:     []string{"profile", "get", "cameras"},
			replies:  map[string][]reply{"GET " + path: {awsError(http.StatusNotFound, "ResourceNotFoundException", `security profile "cameras" not found`)}},
			code:     1,
			stderr:   "vigil: security profile \"cameras\" not found (HTTP 404 ResourceNotFoundException)\n",
			requests: []wantRequest{{method: "GET", path: path}},
		},
		{
			name: "ls",
			args: []string{"profile", "ls"},
			replies: map[string][]reply{"GET /api/security-profiles": {
				okReply(`{"securityProfileIdentifiers":[{"name":"baseline","arn":"arn:vigil:iot:local:000000000000:securityprofile/baseline"}],"nextToken":"2"}`),
				okReply(`{"securityProfileIdentifiers":[{"name":"cameras","arn":"arn:vigil:iot:local:000000000000:securityprofile/cameras"}]}`),
			}},
			stdout: outLines(
				"NAME      ARN",
				"baseline  arn:vigil:iot:local:000000000000:securityprofile/baseline",
				"cameras   arn:vigil:iot:local:000000000000:securityprofile/cameras"),
			requests: []wantRequest{
				{method: "GET", path: "/api/security-profiles"},
				{method: "GET", path: "/api/security-profiles", query: map[string]string{"nextToken": "2"}},
			},
		},
		{
			name:     "rm",
			args:     []string{"profile", "rm", "cameras"},
			replies:  map[string][]reply{"DELETE " + path: {okReply(`{}`)}},
			stdout:   "deleted profile cameras\n",
			requests: []wantRequest{{method: "DELETE", path: path}},
		},
		{
			name:     "rm at a version",
			args:     []string{"profile", "rm", "cameras", "--expected-version", "3"},
			replies:  map[string][]reply{"DELETE " + path: {awsError(http.StatusConflict, "VersionConflictException", `security profile "cameras" is at version 4, not 3`)}},
			code:     1,
			stderr:   "vigil: security profile \"cameras\" is at version 4, not 3 (HTTP 409 VersionConflictException)\n",
			requests: []wantRequest{{method: "DELETE", path: path, query: map[string]string{"expectedVersion": "3"}}},
		},
		{
			name:      "rm with a bad version",
			args:      []string{"profile", "rm", "cameras", "--expected-version", "three"},
			code:      2,
			stderrHas: `invalid argument "three" for "--expected-version"`,
		},
		{
			name:    "validate a valid file",
			args:    []string{"profile", "validate", "-f", "testdata/profile.yaml"},
			replies: map[string][]reply{"POST /api/security-profile-behaviors/validate": {okReply(`{"valid":true,"validationErrors":[]}`)}},
			stdout:  "testdata/profile.yaml: valid (2 behaviors)\n",
			requests: []wantRequest{{method: "POST", path: "/api/security-profile-behaviors/validate",
				body: `{"behaviors":[
					{"name":"outbound-bytes","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals",
					 "value":{"count":1000000},"durationSeconds":300,"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":2}},
					{"name":"listening-ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[80,443]}}}]}`}},
		},
		{
			name: "validate prints every problem",
			args: []string{"profile", "validate", "-f", "testdata/profile-invalid.yaml"},
			replies: map[string][]reply{"POST /api/security-profile-behaviors/validate": {okReply(`{"valid":false,"validationErrors":[` +
				`{"errorMessage":"behaviors[0].name: must be 1 to 128 characters"},{"errorMessage":"behaviors[0].criteria.value.ports[0]: must be a port from 0 to 65535, got 70000"}]}`)}},
			code: 1,
			stdout: outLines(
				"behaviors[0].name: must be 1 to 128 characters",
				"behaviors[0].criteria.value.ports[0]: must be a port from 0 to 65535, got 70000"),
			stderr: "vigil: testdata/profile-invalid.yaml is not valid: 2 problems\n",
			requests: []wantRequest{{method: "POST", path: "/api/security-profile-behaviors/validate",
				body: `{"behaviors":[{"name":"bad port","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"greater-than","value":{"ports":[70000]}}}]}`}},
		},
		{
			name:     "validate json",
			args:     []string{"profile", "validate", "-f", "testdata/profile-noname.json", "-o", "json"},
			replies:  map[string][]reply{"POST /api/security-profile-behaviors/validate": {okReply(`{"valid":false,"validationErrors":[{"errorMessage":"x"}]}`)}},
			code:     1,
			stdout:   outLines("{", `  "valid": false,`, `  "validationErrors": [`, "    {", `      "errorMessage": "x"`, "    }", "  ]", "}"),
			stderr:   "vigil: testdata/profile-noname.json is not valid: 1 problem\n",
			requests: []wantRequest{{method: "POST", path: "/api/security-profile-behaviors/validate", body: `{"behaviors":[]}`}},
		},
		{
			name:     "attach",
			args:     []string{"profile", "attach", "cameras", "all/things"},
			replies:  map[string][]reply{"PUT " + path + "/targets": {okReply(`{}`)}},
			stdout:   "attached cameras to all/things\n",
			requests: []wantRequest{{method: "PUT", path: path + "/targets", query: map[string]string{"securityProfileTargetArn": "all/things"}}},
		},
		{
			name:     "attach beyond the limit",
			args:     []string{"profile", "attach", "cameras", "thinggroup/lyon"},
			replies:  map[string][]reply{"PUT " + path + "/targets": {awsError(http.StatusGone, "LimitExceededException", "target thinggroup/lyon already has 5 security profiles")}},
			code:     1,
			stderr:   "vigil: target thinggroup/lyon already has 5 security profiles (HTTP 410 LimitExceededException)\n",
			requests: []wantRequest{{method: "PUT", path: path + "/targets", query: map[string]string{"securityProfileTargetArn": "thinggroup/lyon"}}},
		},
		{
			name:      "attach to a bad target",
			args:      []string{"profile", "attach", "cameras", "thinggroup/"},
			code:      2,
			stderrHas: `target "thinggroup/"`,
		},
		{
			name:     "detach",
			args:     []string{"profile", "detach", "cameras", "arn:aws:iot:us-east-1:123456789012:thinggroup/lyon"},
			replies:  map[string][]reply{"DELETE " + path + "/targets": {okReply(`{}`)}},
			stdout:   "detached cameras from arn:aws:iot:us-east-1:123456789012:thinggroup/lyon\n",
			requests: []wantRequest{{method: "DELETE", path: path + "/targets", query: map[string]string{"securityProfileTargetArn": "arn:aws:iot:us-east-1:123456789012:thinggroup/lyon"}}},
		},
		{
			name: "targets",
			args: []string{"profile", "targets", "cameras"},
			replies: map[string][]reply{"GET " + path + "/targets": {okReply(`{"securityProfileTargets":[` +
				`{"arn":"arn:vigil:iot:local:000000000000:all/things"},{"arn":"arn:vigil:iot:local:000000000000:thinggroup/lyon"}]}`)}},
			stdout: outLines(
				"TARGET",
				"arn:vigil:iot:local:000000000000:all/things",
				"arn:vigil:iot:local:000000000000:thinggroup/lyon"),
			requests: []wantRequest{{method: "GET", path: path + "/targets"}},
		},
	})
}
