package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

// listing is a list call and how to read the names it returns.
type listing struct {
	path   string
	create func(e *env, name string)
	names  func(t *testing.T, r response) []string
}

func namesOf(key, member string) func(t *testing.T, r response) []string {
	return func(t *testing.T, r response) []string {
		var out []string
		for _, v := range list(t, r, key) {
			if member == "" {
				out = append(out, v.(string))
			} else {
				out = append(out, field(v, member))
			}
		}
		return out
	}
}

var listings = map[string]listing{
	"things": {"/api/things",
		func(e *env, name string) { e.must("POST", "/api/things/"+name, "") },
		namesOf("things", "thingName")},
	"thing groups": {"/api/thing-groups",
		func(e *env, name string) { e.must("POST", "/api/thing-groups/"+name, "") },
		namesOf("thingGroups", "groupName")},
	"security profiles": {"/api/security-profiles",
		func(e *env, name string) { e.must("POST", "/api/security-profiles/"+name, portsProfile) },
		namesOf("securityProfileIdentifiers", "name")},
	"custom metrics": {"/api/custom-metrics",
		func(e *env, name string) { e.must("POST", "/api/custom-metric/"+name, `{"metricType":"number"}`) },
		namesOf("metricNames", "")},
	"things in a group": {"/api/thing-groups/all/things",
		func(e *env, name string) {
			e.call("POST", "/api/thing-groups/all", "") // 409 after the first
			e.must("POST", "/api/things/"+name, "")
			e.must("PUT", "/api/thing-groups/addThingToThingGroup", `{"thingGroupName":"all","thingName":"`+name+`"}`)
		},
		namesOf("things", "")},
}

// TestPagination pages through every name-ordered listing, three items per
// page, over seven items: two full pages and a short last one.
func TestPagination(t *testing.T) {
	for name, l := range listings {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			var want []string
			for i := range 7 {
				item := fmt.Sprintf("item-%d", (i*5)%7) // created out of order
				l.create(e, item)
				want = append(want, item)
			}
			slices.Sort(want)
			var got []string
			var sizes []int
			token := ""
			for range 4 {
				path := l.path + "?maxResults=3"
				if token != "" {
					path += "&nextToken=" + url.QueryEscape(token)
				}
				r := e.must("GET", path, "")
				names := l.names(t, r)
				got, sizes = append(got, names...), append(sizes, len(names))
				if token, _ = r.Body["nextToken"].(string); token == "" {
					break
				}
			}
			if fmt.Sprint(sizes) != "[3 3 1]" || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pages %v holding %v, want [3 3 1] holding %v", sizes, got, want)
			}
			if all := l.names(t, e.must("GET", l.path, "")); len(all) != 7 {
				t.Errorf("default page holds %d", len(all))
			}
		})
	}
}

func TestPaginationErrors(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"a", "b"} {
		e.must("POST", "/api/things/"+name, "")
	}
	first := e.must("GET", "/api/things?maxResults=1", "")
	thingsToken, _ := first.Body["nextToken"].(string)
	if thingsToken == "" {
		t.Fatalf("no token: %s", first.Raw)
	}
	e.run(t, []step{
		{name: "maxResults 0", method: "GET", path: "/api/things?maxResults=0", status: 400, errType: "InvalidRequestException",
			contains: []string{"maxResults"}},
		{name: "maxResults 251", method: "GET", path: "/api/things?maxResults=251", status: 400, errType: "InvalidRequestException"},
		{name: "maxResults not a number", method: "GET", path: "/api/things?maxResults=ten", status: 400, errType: "InvalidRequestException"},
		{name: "maxResults 250", method: "GET", path: "/api/things?maxResults=250", status: 200},
		{name: "token not base64", method: "GET", path: "/api/things?nextToken=%25%25", status: 400, errType: "InvalidRequestException",
			contains: []string{"nextToken"}},
		{name: "token of another listing", method: "GET", path: "/api/thing-groups?nextToken=" + url.QueryEscape(thingsToken),
			status: 400, errType: "InvalidRequestException", contains: []string{"nextToken"}},
		{name: "token of this listing", method: "GET", path: "/api/things?nextToken=" + url.QueryEscape(thingsToken),
			status: 200, contains: []string{`"thingName":"b"`}},
	})
}
