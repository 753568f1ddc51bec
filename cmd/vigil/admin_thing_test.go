package main

import (
	"net/http"
	"testing"
)

func TestThingCommands(t *testing.T) {
	notFound := awsError(http.StatusNotFound, "ResourceNotFoundException", `thing "nope" not found`)
	runCases(t, []cliCase{
		{
			name:    "create with attributes and password",
			args:    []string{"thing", "create", "cam-01", "--attr", "site=lyon", "--attr", "note=a=b,c", "--password", "s3cret-pass"},
			replies: map[string][]reply{"POST /api/things/cam-01": {okReply(`{"thingName":"cam-01","thingArn":"arn:x","thingId":"1"}`)}},
			stdout:  "created thing cam-01\n",
			requests: []wantRequest{{method: "POST", path: "/api/things/cam-01",
				body: `{"attributePayload":{"attributes":{"site":"lyon","note":"a=b,c"}},"password":"s3cret-pass"}`}},
		},
		{
			name:     "create reads the password from stdin without its newline",
			args:     []string{"thing", "create", "cam-01", "--password-stdin"},
			stdin:    "s3cret-pass\n",
			replies:  map[string][]reply{"POST /api/things/cam-01": {okReply(`{}`)}},
			stdout:   "created thing cam-01\n",
			requests: []wantRequest{{method: "POST", path: "/api/things/cam-01", body: `{"password":"s3cret-pass"}`}},
		},
		{
			name:     "create json prints the answer",
			args:     []string{"thing", "create", "cam-01", "-o", "json"},
			replies:  map[string][]reply{"POST /api/things/cam-01": {okReply(`{"thingName":"cam-01","thingArn":"arn:x"}`)}},
			stdout:   outLines("{", `  "thingName": "cam-01",`, `  "thingArn": "arn:x"`, "}"),
			requests: []wantRequest{{method: "POST", path: "/api/things/cam-01", body: `{}`}},
		},
		{
			name:     "create of an existing thing",
			args:     []string{"thing", "create", "cam-01"},
			replies:  map[string][]reply{"POST /api/things/cam-01": {awsError(http.StatusConflict, "ResourceAlreadyExistsException", `thing "cam-01" already exists`)}},
			code:     1,
			stderr:   "vigil: thing \"cam-01\" already exists (HTTP 409 ResourceAlreadyExistsException)\n",
			requests: []wantRequest{{method: "POST", path: "/api/things/cam-01", body: `{}`}},
		},
		{
			name:      "both password flags",
			args:      []string{"thing", "create", "cam-01", "--password", "x", "--password-stdin"},
			stdin:     "y\n",
			code:      2,
			stderrHas: "not both",
		},
		{
			name:      "empty password on stdin",
			args:      []string{"thing", "create", "cam-01", "--password-stdin"},
			code:      2,
			stderrHas: "standard input holds no password",
		},
		{
			name:   "attribute without value",
			args:   []string{"thing", "create", "cam-01", "--attr", "site"},
			code:   2,
			stderr: "vigil: --attr \"site\": want KEY=VALUE\n",
		},
		{
			name:      "create without a name",
			args:      []string{"thing", "create"},
			code:      2,
			stderrHas: "accepts 1 arg(s), received 0",
		},
		{
			name:    "get",
			args:    []string{"thing", "get", "cam-01"},
			replies: map[string][]reply{"GET /api/things/cam-01": {okReply(`{"thingName":"cam-01","thingArn":"arn:x","attributes":{"site":"lyon","model":"x2"},"version":2,"thingGroups":["cameras","lyon"]}`)}},
			stdout: outLines(
				"NAME    ATTRIBUTES          VERSION  GROUPS",
				"cam-01  model=x2,site=lyon  2        cameras,lyon"),
			requests: []wantRequest{{method: "GET", path: "/api/things/cam-01"}},
		},
		{
			name:     "get json",
			args:     []string{"thing", "get", "cam-01", "-o", "json"},
			replies:  map[string][]reply{"GET /api/things/cam-01": {okReply(`{"thingName":"cam-01","version":2}`)}},
			stdout:   outLines("{", `  "thingName": "cam-01",`, `  "version": 2`, "}"),
			requests: []wantRequest{{method: "GET", path: "/api/things/cam-01"}},
		},
		{
			name:     "get of a missing thing",
			args:     []string{"thing", "get", "nope"},
			replies:  map[string][]reply{"GET /api/things/nope": {notFound}},
			code:     1,
			stderr:   "vigil: thing \"nope\" not found (HTTP 404 ResourceNotFoundException)\n",
			requests: []wantRequest{{method: "GET", path: "/api/things/nope"}},
		},
		{
			name: "ls follows nextToken",
			args: []string{"thing", "ls"},
			replies: map[string][]reply{"GET /api/things": {
				okReply(`{"things":[{"thingName":"cam-01","attributes":{},"version":1}],"nextToken":"t1"}`),
				okReply(`{"things":[{"thingName":"sensor-7","attributes":{},"version":3}]}`),
			}},
			stdout: outLines(
				"NAME      VERSION",
				"cam-01    1",
				"sensor-7  3"),
			requests: []wantRequest{
				{method: "GET", path: "/api/things"},
				{method: "GET", path: "/api/things", query: map[string]string{"nextToken": "t1"}},
			},
		},
		{
			name: "ls json merges the pages",
			args: []string{"thing", "ls", "-o", "json"},
			replies: map[string][]reply{"GET /api/things": {
				okReply(`{"things":[{"thingName":"a"}],"nextToken":"t1"}`),
				okReply(`{"things":[{"thingName":"b"}]}`),
			}},
			stdout: outLines("{", `  "things": [`, "    {", `      "thingName": "a"`, "    },", "    {", `      "thingName": "b"`, "    }", "  ]", "}"),
			requests: []wantRequest{
				{method: "GET", path: "/api/things"},
				{method: "GET", path: "/api/things", query: map[string]string{"nextToken": "t1"}},
			},
		},
		{
			name:     "ls of no things",
			args:     []string{"thing", "ls"},
			replies:  map[string][]reply{"GET /api/things": {okReply(`{"things":[]}`)}},
			stdout:   "NAME\n",
			requests: []wantRequest{{method: "GET", path: "/api/things"}},
		},
		{
			name:     "rm",
			args:     []string{"thing", "rm", "cam-01"},
			replies:  map[string][]reply{"DELETE /api/things/cam-01": {okReply(`{}`)}},
			stdout:   "deleted thing cam-01\n",
			requests: []wantRequest{{method: "DELETE", path: "/api/things/cam-01"}},
		},
		{
			name:     "rm json of an empty answer",
			args:     []string{"thing", "rm", "cam-01", "-o", "json"},
			replies:  map[string][]reply{"DELETE /api/things/cam-01": {okReply(``)}},
			stdout:   "{}\n",
			requests: []wantRequest{{method: "DELETE", path: "/api/things/cam-01"}},
		},
		{
			name:     "name with reserved characters is escaped",
			args:     []string{"thing", "rm", "a b/c"},
			replies:  map[string][]reply{"DELETE /api/things/a%20b%2Fc": {okReply(`{}`)}},
			stdout:   "deleted thing a b/c\n",
			requests: []wantRequest{{method: "DELETE", path: "/api/things/a%20b%2Fc"}},
		},
		{
			name:     "passwd",
			args:     []string{"thing", "passwd", "cam-01", "--password-stdin"},
			stdin:    "n3w-password\r\n",
			replies:  map[string][]reply{"PUT /api/things/cam-01/password": {okReply(`{}`)}},
			stdout:   "set the password of thing cam-01\n",
			requests: []wantRequest{{method: "PUT", path: "/api/things/cam-01/password", body: `{"password":"n3w-password"}`}},
		},
		{
			name:   "passwd needs a password",
			args:   []string{"thing", "passwd", "cam-01"},
			code:   2,
			stderr: "vigil: give the password with --password-stdin (or --password)\n",
		},
		{
			name:     "passwd rejected",
			args:     []string{"thing", "passwd", "cam-01", "--password", "short"},
			replies:  map[string][]reply{"PUT /api/things/cam-01/password": {awsError(http.StatusBadRequest, "InvalidRequestException", "password: must be 8 to 72 bytes long")}},
			code:     1,
			stderr:   "vigil: password: must be 8 to 72 bytes long (HTTP 400 InvalidRequestException)\n",
			requests: []wantRequest{{method: "PUT", path: "/api/things/cam-01/password", body: `{"password":"short"}`}},
		},
	})
}
