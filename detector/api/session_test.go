package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-iot/vigil/detector/api"
)

// browserCall is a request as the dashboard sends it: with the session
// cookie (nil for none), and the cross-site protection header when
// dashboard is true.
type browserCall struct {
	method, path, body string
	cookie             *http.Cookie
	dashboard          bool
	header             map[string]string
}

// send sends a browser call and returns the answer and the cookies set.
func (e *secEnv) send(c browserCall) (response, []*http.Cookie) {
	e.t.Helper()
	var rd io.Reader
	if c.body != "" {
		rd = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, e.url+c.path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if c.dashboard {
		req.Header.Set(api.RequestHeader, "1")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			e.t.Fatalf("%s %s: %v\n%s", c.method, c.path, err, raw)
		}
	}
	return out, resp.Cookies()
}

// signIn opens a session with a token and returns its cookie.
func (e *secEnv) signIn(token string) *http.Cookie {
	e.t.Helper()
	r, cookies := e.send(browserCall{method: "POST", path: "/api/session", body: `{"token":"` + token + `"}`, dashboard: true})
	if r.Status != http.StatusOK || len(cookies) != 1 {
		e.t.Fatalf("sign in: status %d, %d cookies: %s", r.Status, len(cookies), r.Raw)
	}
	return cookies[0]
}

func TestSessionSignIn(t *testing.T) {
	e := newSecEnv(t, api.Tokens{Admin: []string{adminToken}, ReadOnly: []string{readToken}})
	for _, tc := range []struct {
		name    string
		call    browserCall
		status  int
		errType string
		message string
	}{
		{"wrong token", browserCall{method: "POST", path: "/api/session", body: `{"token":"nope-nope-nope-nope"}`, dashboard: true}, 401, api.Unauthorized, "token: not valid"},
		{"empty token", browserCall{method: "POST", path: "/api/session", body: `{"token":" "}`, dashboard: true}, 400, api.InvalidRequest, "token: required"},
		{"unknown field", browserCall{method: "POST", path: "/api/session", body: `{"tokn":"x"}`, dashboard: true}, 400, api.InvalidRequest, "tokn"},
		{"without the dashboard's header", browserCall{method: "POST", path: "/api/session", body: `{"token":"` + adminToken + `"}`}, 403, api.Forbidden, api.RequestHeader},
		{"from another site", browserCall{method: "POST", path: "/api/session", body: `{"token":"` + adminToken + `"}`, dashboard: true,
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, api.Forbidden, api.RequestHeader},
		{"no session yet", browserCall{method: "GET", path: "/api/session"}, 401, api.Unauthorized, "token is required"},
		{"other method", browserCall{method: "PUT", path: "/api/session", dashboard: true}, 405, api.MethodNotAllowed, "GET, POST, DELETE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cookies := e.send(tc.call)
			if r.Status != tc.status || r.errType() != tc.errType || !strings.Contains(r.message(), tc.message) {
				t.Fatalf("status %d %q, want %d %q with %q: %s", r.Status, r.errType(), tc.status, tc.errType, tc.message, r.Raw)
			}
			if len(cookies) != 0 {
				t.Fatalf("a refused sign-in set cookies: %v", cookies)
			}
		})
	}

	r, cookies := e.send(browserCall{method: "POST", path: "/api/session", body: `{"token":"` + adminToken + `"}`, dashboard: true})
	if r.Status != 200 || r.Body["role"] != api.RoleAdmin || r.Body["authenticationRequired"] != true || r.Body["expiresAt"] == nil {
		t.Fatalf("admin sign-in: %d %s", r.Status, r.Raw)
	}
	if len(cookies) != 1 {
		t.Fatalf("admin sign-in set %d cookies", len(cookies))
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.Domain != "" {
		t.Errorf("cookie attributes: %+v", c)
	}
	if c.MaxAge != int(api.DefaultSessionLifetime.Seconds()) {
		t.Errorf("cookie lifetime %d s, want %v", c.MaxAge, api.DefaultSessionLifetime)
	}
	if strings.Contains(c.Value, adminToken) || strings.Contains(c.Value, "admin") {
		t.Errorf("the cookie shows the token or its role: %q", c.Value)
	}
	if r, _ := e.send(browserCall{method: "GET", path: "/api/session", cookie: c}); r.Status != 200 || r.Body["role"] != api.RoleAdmin || r.Body["expiresAt"] == nil {
		t.Errorf("session read with the cookie: %d %s", r.Status, r.Raw)
	}
	if r := e.call(readToken, "GET", "/api/session", ""); r.Status != 200 || r.Body["role"] != api.RoleReadOnly || r.Body["expiresAt"] != nil {
		t.Errorf("session read with a read-only bearer token: %d %s", r.Status, r.Raw)
	}
}

func TestSessionRoles(t *testing.T) {
	e := newSecEnv(t, api.Tokens{Admin: []string{adminToken}, ReadOnly: []string{readToken}})
	e.must("POST", "/api/things/t1", "")
	admin, read := e.signIn(adminToken), e.signIn(readToken)
	forged := *admin
	// The role's bits, changed: the signature no longer matches.
	flip := byte('B')
	if admin.Value[2] == flip {
		flip = 'C'
	}
	forged.Value = admin.Value[:2] + string(flip) + admin.Value[3:]
	for _, tc := range []struct {
		name    string
		call    browserCall
		status  int
		errType string
	}{
		{"admin cookie reads", browserCall{method: "GET", path: "/api/things", cookie: admin}, 200, ""},
		{"admin cookie reads metrics", browserCall{method: "GET", path: "/metrics", cookie: admin}, 200, ""},
		{"admin cookie changes with the header", browserCall{method: "POST", path: "/api/things/t2", cookie: admin, dashboard: true}, 200, ""},
		{"admin cookie without the header", browserCall{method: "POST", path: "/api/things/t3", cookie: admin}, 403, api.Forbidden},
		{"admin cookie deletes only with the header", browserCall{method: "DELETE", path: "/api/things/t2", cookie: admin}, 403, api.Forbidden},
		{"admin cookie from another site", browserCall{method: "DELETE", path: "/api/things/t2", cookie: admin, dashboard: true,
			header: map[string]string{"Sec-Fetch-Site": "same-site"}}, 403, api.Forbidden},
		{"read cookie reads", browserCall{method: "GET", path: "/api/things/t1", cookie: read}, 200, ""},
		{"read cookie validates", browserCall{method: "POST", path: "/api/security-profile-behaviors/validate", body: `{"behaviors":[]}`, cookie: read, dashboard: true}, 200, ""},
		{"read cookie cannot change", browserCall{method: "POST", path: "/api/things/t4", cookie: read, dashboard: true}, 403, api.Forbidden},
		{"read session says read-only", browserCall{method: "GET", path: "/api/session", cookie: read}, 200, ""},
		{"forged cookie", browserCall{method: "GET", path: "/api/things", cookie: &forged}, 401, api.Unauthorized},
		{"a wrong bearer token beats a good cookie", browserCall{method: "GET", path: "/api/things", cookie: admin,
			header: map[string]string{"Authorization": "Bearer nope-nope-nope-nope"}}, 401, api.Unauthorized},
		{"another scheme leaves the cookie to decide", browserCall{method: "GET", path: "/api/things", cookie: read,
			header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}, 200, ""},
		{"another scheme without a cookie", browserCall{method: "GET", path: "/api/things",
			header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}, 401, api.Unauthorized},
		{"a bearer token needs no header", browserCall{method: "POST", path: "/api/things/t5", cookie: read,
			header: map[string]string{"Authorization": "Bearer " + adminToken}}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := e.send(tc.call)
			if r.Status != tc.status || r.errType() != tc.errType {
				t.Fatalf("status %d %q, want %d %q: %s", r.Status, r.errType(), tc.status, tc.errType, r.Raw)
			}
		})
	}
	if r, _ := e.send(browserCall{method: "GET", path: "/api/session", cookie: read}); r.Body["role"] != api.RoleReadOnly {
		t.Errorf("read-only session: %s", r.Raw)
	}
	// Only the calls allowed changed anything.
	if r := e.must("GET", "/api/things", ""); len(r.Body["things"].([]any)) != 3 {
		t.Fatalf("things after the calls: %s", r.Raw)
	}
}

func TestSessionSignOut(t *testing.T) {
	e := newSecEnv(t, api.Tokens{Admin: []string{adminToken}})
	c := e.signIn(adminToken)
	other := e.signIn(adminToken)
	if r, _ := e.send(browserCall{method: "DELETE", path: "/api/session", cookie: c}); r.Status != 403 {
		t.Fatalf("sign-out without the header: %d %s", r.Status, r.Raw)
	}
	r, cookies := e.send(browserCall{method: "DELETE", path: "/api/session", cookie: c, dashboard: true})
	if r.Status != 200 || len(cookies) != 1 || cookies[0].MaxAge >= 0 || cookies[0].Value != "" {
		t.Fatalf("sign-out: %d %s, cookies %v", r.Status, r.Raw, cookies)
	}
	// A copy of the signed-out cookie is refused, and cleared.
	r, cookies = e.send(browserCall{method: "GET", path: "/api/things", cookie: c})
	if r.Status != 401 || !strings.Contains(r.message(), "sign in again") || len(cookies) != 1 || cookies[0].MaxAge >= 0 {
		t.Fatalf("signed-out cookie: %d %s, cookies %v", r.Status, r.Raw, cookies)
	}
	// Another browser's session goes on.
	if r, _ := e.send(browserCall{method: "GET", path: "/api/things", cookie: other}); r.Status != 200 {
		t.Fatalf("other session after a sign-out: %d %s", r.Status, r.Raw)
	}
	// Signing out without a session is harmless.
	if r, cookies := e.send(browserCall{method: "DELETE", path: "/api/session", dashboard: true}); r.Status != 200 || len(cookies) != 0 {
		t.Fatalf("sign-out without a session: %d %s", r.Status, r.Raw)
	}
}

func TestSessionWithoutTokens(t *testing.T) {
	e := newSecEnv(t, api.Tokens{})
	r, _ := e.send(browserCall{method: "GET", path: "/api/session"})
	if r.Status != 200 || r.Body["authenticationRequired"] != false || r.Body["role"] != api.RoleAdmin {
		t.Fatalf("session without tokens: %d %s", r.Status, r.Raw)
	}
	r, cookies := e.send(browserCall{method: "POST", path: "/api/session", body: `{"token":"` + adminToken + `"}`, dashboard: true})
	if r.Status != 400 || !strings.Contains(r.message(), "no token is configured") || len(cookies) != 0 {
		t.Fatalf("sign-in without tokens: %d %s", r.Status, r.Raw)
	}
	if r, _ := e.send(browserCall{method: "POST", path: "/api/things/t1"}); r.Status != 200 {
		t.Fatalf("change without tokens: %d %s", r.Status, r.Raw)
	}
}
