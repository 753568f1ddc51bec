package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/certauthority"
	"github.com/vigil-iot/vigil/detector/mitigation"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/detector/store"
)

const (
	adminToken = "admin-token-0123456789"
	readToken  = "read-token-0123456789"
)

// disconnected records the things the API disconnected.
type disconnected struct {
	mu     sync.Mutex
	things []string
}

func (d *disconnected) Disconnect(thing string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.things = append(d.things, thing)
	return nil
}

func (d *disconnected) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.things)
}

// secEnv is a detector with certificates, mitigations and tokens.
type secEnv struct {
	t    *testing.T
	url  string
	ca   *certauthority.Authority
	mit  *mitigation.Manager
	disc *disconnected
}

func newSecEnv(t *testing.T, tokens api.Tokens) *secEnv {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Load(db)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Options{DB: db, Registry: reg, Publisher: newPublisher(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	e := &secEnv{t: t, disc: &disconnected{}}
	if e.ca, err = certauthority.Open(certauthority.Options{Dir: t.TempDir(), DB: db}); err != nil {
		t.Fatal(err)
	}
	if e.mit, err = mitigation.New(mitigation.Options{DB: db, Groups: svc, Disconnector: e.disc}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = svc.Run(ctx) })
	wg.Go(func() { _ = e.mit.Run(ctx) })
	srv := httptest.NewServer(api.New(api.Options{Service: svc, Logger: zerolog.Nop(), Certificates: e.ca,
		Mitigation: e.mit, Disconnector: e.disc, Tokens: tokens}))
	e.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// call sends a request with a bearer token ("" for none).
func (e *secEnv) call(token, method, path, body string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
			e.t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

func (e *secEnv) must(method, path, body string) response {
	e.t.Helper()
	r := e.call(adminToken, method, path, body)
	if r.Status != http.StatusOK {
		e.t.Fatalf("%s %s: status %d: %s", method, path, r.Status, r.Raw)
	}
	return r
}

func TestTokens(t *testing.T) {
	e := newSecEnv(t, api.Tokens{Admin: []string{adminToken}, ReadOnly: []string{readToken}})
	e.must("POST", "/api/things/t1", "")
	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		errType                         string
	}{
		{"no token", "", "GET", "/api/things", "", 401, api.Unauthorized},
		{"wrong token", "nope-nope-nope-nope", "GET", "/api/things", "", 401, api.Unauthorized},
		{"metrics need a token", "", "GET", "/metrics", "", 401, api.Unauthorized},
		{"liveness needs none", "", "GET", "/healthz", "", 200, ""},
		{"read token reads", readToken, "GET", "/api/things/t1", "", 200, ""},
		{"read token reads metrics", readToken, "GET", "/metrics", "", 200, ""},
		{"read token validates", readToken, "POST", "/api/security-profile-behaviors/validate", `{"behaviors":[]}`, 200, ""},
		{"read token cannot create", readToken, "POST", "/api/things/t2", "", 403, api.Forbidden},
		{"read token cannot delete", readToken, "DELETE", "/api/things/t1", "", 403, api.Forbidden},
		{"read token cannot quarantine", readToken, "PUT", "/api/things/t1/quarantine", "", 403, api.Forbidden},
		{"read token cannot issue certificates", readToken, "POST", "/api/things/t1/keys-and-certificate", "", 403, api.Forbidden},
		{"read token cannot set passwords", readToken, "PUT", "/api/things/t1/password", `{"password":"12345678"}`, 403, api.Forbidden},
		{"admin token creates", adminToken, "POST", "/api/things/t3", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.token, tc.method, tc.path, tc.body)
			if r.Status != tc.status || r.errType() != tc.errType {
				t.Fatalf("status %d %q, want %d %q: %s", r.Status, r.errType(), tc.status, tc.errType, r.Raw)
			}
			if tc.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	// What the read-only token tried changed nothing.
	if r := e.must("GET", "/api/things", ""); len(r.Body["things"].([]any)) != 2 {
		t.Fatalf("things after the refused calls: %s", r.Raw)
	}
	if r := e.call(adminToken, "GET", "/api/things/t1/quarantine", ""); r.Status != 404 {
		t.Fatalf("t1 was quarantined by a read-only token: %s", r.Raw)
	}
	if len(e.disc.list()) != 0 {
		t.Fatal("a read-only call disconnected a thing")
	}
}

func TestCheckExposure(t *testing.T) {
	tokens := api.Tokens{Admin: []string{adminToken}}
	for _, tc := range []struct {
		addr    string
		tokens  api.Tokens
		refused bool
	}{
		{"127.0.0.1:8080", api.Tokens{}, false},
		{"localhost:8080", api.Tokens{}, false},
		{"[::1]:8080", api.Tokens{}, false},
		{":8080", api.Tokens{}, true},
		{"0.0.0.0:8080", api.Tokens{}, true},
		{"192.168.1.10:8080", api.Tokens{}, true},
		{"vigil.example.com:8080", api.Tokens{}, true},
		{"0.0.0.0:8080", tokens, false},
	} {
		if err := api.CheckExposure(tc.addr, tc.tokens); (err != nil) != tc.refused {
			t.Errorf("CheckExposure(%q, %d tokens) = %v, want refused %v", tc.addr, len(tc.tokens.Admin), err, tc.refused)
		}
	}
	if err := (api.Tokens{ReadOnly: []string{"short"}}).Check(); err == nil {
		t.Error("a 5-character token was accepted")
	}
}

func TestCertificatesAPI(t *testing.T) {
	e := newSecEnv(t, api.Tokens{})
	e.must("POST", "/api/things/t1", `{"password":"password-1"}`)
	if r := e.call("", "POST", "/api/things/ghost/keys-and-certificate", ""); r.Status != 404 {
		t.Fatalf("certificate for an unknown thing: %d %s", r.Status, r.Raw)
	}
	created := e.must("POST", "/api/things/t1/keys-and-certificate?setAsActive=true", "")
	id, _ := created.Body["certificateId"].(string)
	for _, key := range []string{"certificateArn", "certificatePem", "caCertificatePem"} {
		if s, _ := created.Body[key].(string); s == "" {
			t.Fatalf("%s missing: %s", key, created.Raw)
		}
	}
	if kp, _ := created.Body["keyPair"].(map[string]any); kp == nil || !strings.Contains(kp["PrivateKey"].(string), "PRIVATE KEY") {
		t.Fatalf("keyPair: %s", created.Raw)
	}
	list := e.must("GET", "/api/certificates?thingName=t1", "")
	if certs := list.Body["certificates"].([]any); len(certs) != 1 || certs[0].(map[string]any)["status"] != "ACTIVE" {
		t.Fatalf("list: %s", list.Raw)
	}
	if r := e.call("", "PUT", "/api/certificates/"+id+"?newStatus=LOST", ""); r.Status != 400 || !strings.Contains(r.message(), "newStatus") {
		t.Fatalf("bad status: %d %s", r.Status, r.Raw)
	}
	e.must("PUT", "/api/certificates/"+id+"?newStatus=REVOKED", "")
	if got := e.disc.list(); !slices.Equal(got, []string{"t1"}) {
		t.Fatalf("disconnected %v after revocation, want t1", got)
	}
	desc := e.must("GET", "/api/certificates/"+id, "")
	if d := desc.Body["certificateDescription"].(map[string]any); d["status"] != "REVOKED" || d["thingName"] != "t1" {
		t.Fatalf("describe: %s", desc.Raw)
	}
	if r := e.call("", "PUT", "/api/certificates/"+id+"?newStatus=ACTIVE", ""); r.Status != 400 {
		t.Fatalf("reactivating a revoked certificate: %d %s", r.Status, r.Raw)
	}
	e.must("POST", "/api/things/t1/keys-and-certificate", "")
	rev := e.must("POST", "/api/things/t1/revoke-credentials", "")
	if rev.Body["passwordRemoved"] != true || len(rev.Body["revokedCertificateIds"].([]any)) != 1 {
		t.Fatalf("revoke-credentials: %s", rev.Raw)
	}
	if ca := e.must("GET", "/api/ca-certificate", ""); !strings.Contains(ca.Body["certificatePem"].(string), "CERTIFICATE") {
		t.Fatalf("CA certificate: %s", ca.Raw)
	}
	last := e.must("POST", "/api/things/t1/keys-and-certificate", "").Body["certificateId"].(string)
	e.must("DELETE", "/api/things/t1", "")
	if c, _ := e.ca.Certificate(last); c.Status != certauthority.Revoked {
		t.Fatalf("the certificate of a deleted thing is %s, want REVOKED", c.Status)
	}
}

func TestQuarantineAPI(t *testing.T) {
	e := newSecEnv(t, api.Tokens{})
	e.must("POST", "/api/things/t1", "")
	e.must("POST", "/api/security-profiles/p", `{"behaviors":[{"name":"ports","metric":"aws:num-listening-tcp-ports","criteria":{"comparisonOperator":"less-than","value":{"count":5}}}]}`)
	for _, tc := range []struct{ name, method, path, body, contains string }{
		{"negative duration", "PUT", "/api/things/t1/quarantine", `{"durationSeconds":-5}`, "durationSeconds"},
		{"unknown field", "PUT", "/api/things/t1/quarantine", `{"duration":5}`, "duration"},
		{"unknown behavior", "PUT", "/api/security-profiles/p/mitigations",
			`{"behaviorMitigations":[{"behaviorName":"nope","actions":[{"quarantineParams":{}}]}]}`, "nope"},
		{"no action type", "PUT", "/api/security-profiles/p/mitigations",
			`{"behaviorMitigations":[{"behaviorName":"ports","actions":[{}]}]}`, "exactly one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("", tc.method, tc.path, tc.body)
			if r.Status != 400 || !strings.Contains(r.message(), tc.contains) {
				t.Fatalf("status %d, want 400 naming %q: %s", r.Status, tc.contains, r.Raw)
			}
		})
	}
	if r := e.call("", "PUT", "/api/things/ghost/quarantine", ""); r.Status != 404 {
		t.Fatalf("quarantine of an unknown thing: %d %s", r.Status, r.Raw)
	}
	q := e.must("PUT", "/api/things/t1/quarantine", `{"durationSeconds":3600,"reason":"investigating"}`)
	if q.Body["thingGroupName"] != "quarantine" || q.Body["quarantineEndTime"] == nil {
		t.Fatalf("quarantine: %s", q.Raw)
	}
	if r := e.must("GET", "/api/thing-groups/quarantine/things", ""); !strings.Contains(string(r.Raw), `"t1"`) {
		t.Fatalf("t1 not in the quarantine group: %s", r.Raw)
	}
	if r := e.must("GET", "/api/quarantined-things", ""); len(r.Body["quarantinedThings"].([]any)) != 1 {
		t.Fatalf("list: %s", r.Raw)
	}
	e.must("DELETE", "/api/things/t1/quarantine", "")
	if r := e.call("", "GET", "/api/things/t1/quarantine", ""); r.Status != 404 {
		t.Fatalf("still quarantined after release: %s", r.Raw)
	}
	xs := e.must("GET", "/api/detect/mitigationactions/executions?thingName=t1", "")
	got := xs.Body["actionsExecutions"].([]any)
	if len(got) != 2 || got[0].(map[string]any)["actionName"] != "QUARANTINE" || got[1].(map[string]any)["actionName"] != "RELEASE_QUARANTINE" {
		t.Fatalf("executions: %s", xs.Raw)
	}
	pm := e.must("PUT", "/api/security-profiles/p/mitigations",
		`{"behaviorMitigations":[{"behaviorName":"ports","actions":[{"quarantineParams":{"durationSeconds":600}}]}]}`)
	if pm.Body["securityProfileName"] != "p" {
		t.Fatalf("mitigations: %s", pm.Raw)
	}
	e.must("GET", "/api/security-profiles/p/mitigations", "")
	e.must("DELETE", "/api/security-profiles/p/mitigations", "")
	e.must("PUT", "/api/things/t1/quarantine", "")
	e.must("DELETE", "/api/things/t1", "")
	if e.mit.Quarantined("t1") {
		t.Fatal("a deleted thing stays quarantined")
	}
	if r := e.call("", "GET", "/api/security-profiles/p/mitigations", ""); r.Status != 404 {
		t.Fatalf("mitigations after delete: %d", r.Status)
	}
}
