package app_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/detector/api"
)

const (
	admin    = "admin-token-for-tests-0001"
	readOnly = "read-token-for-tests-0001"
	wait     = 15 * time.Second
)

// secApp is a running `vigil serve` with a TLS listener and tokens.
type secApp struct {
	t *testing.T
	a *app.App
}

func startSecure(t *testing.T) *secApp {
	t.Helper()
	a, err := app.Start(app.Options{MQTTAddr: "127.0.0.1:0", MQTTTLSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		DataDir: t.TempDir(), Logger: zerolog.Nop(), Tokens: api.Tokens{Admin: []string{admin}, ReadOnly: []string{readOnly}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return &secApp{t: t, a: a}
}

// api calls the API with the admin token and decodes a 200 answer.
func (s *secApp) api(method, path, body string) map[string]any {
	s.t.Helper()
	status, out := s.call(admin, method, path, body)
	if status != http.StatusOK {
		s.t.Fatalf("%s %s: %d %v", method, path, status, out)
	}
	return out
}

func (s *secApp) call(token, method, path, body string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.a.HTTPURL()+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// device is a paho client of one thing, logged in with its certificate,
// that notices when it is disconnected.
type device struct {
	c    paho.Client
	lost chan error
}

func connect(t *testing.T, url, thing string, conf *tls.Config) (*device, error) {
	t.Helper()
	d := &device{lost: make(chan error, 1)}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(thing).SetAutoReconnect(false).
		SetConnectRetry(false).SetConnectTimeout(wait).SetProtocolVersion(4).SetTLSConfig(conf).
		SetConnectionLostHandler(func(_ paho.Client, err error) { d.lost <- err })
	d.c = paho.NewClient(opts)
	tok := d.c.Connect()
	if !tok.WaitTimeout(wait) {
		t.Fatalf("connect %s: timed out", thing)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { d.c.Disconnect(0) })
	return d, nil
}

// waitLost fails unless the device is disconnected within within.
func (d *device) waitLost(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-d.lost:
	case <-time.After(within):
		t.Fatalf("still connected after %v", within)
	}
}

// report publishes a report listing ports and returns the reply topic's
// suffix ("accepted" or "rejected"), or "" when none came.
func (d *device) report(t *testing.T, thing string, id int, ports ...int) string {
	t.Helper()
	topic := "$vigil/things/" + thing + "/defender/metrics/json"
	replies := make(chan string, 2)
	tok := d.c.Subscribe(topic+"/+", 1, func(_ paho.Client, m paho.Message) {
		replies <- m.Topic()[strings.LastIndex(m.Topic(), "/")+1:]
	})
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe to the replies of %s: %v", thing, tok.Error())
	}
	entries := make([]string, len(ports))
	for i, p := range ports {
		entries[i] = fmt.Sprintf(`{"port":%d}`, p)
	}
	payload := fmt.Sprintf(`{"header":{"report_id":%d,"version":"1.0"},"metrics":{"listening_tcp_ports":{"ports":[%s],"total":%d}}}`,
		id, strings.Join(entries, ","), len(ports))
	if tok := d.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case r := <-replies:
		return r
	case <-time.After(wait):
		return ""
	}
}

// clientTLS is the TLS configuration of a device holding a certificate
// issued through the API.
func clientTLS(t *testing.T, issued map[string]any) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(issued["caCertificatePem"].(string))) {
		t.Fatal("caCertificatePem is not a certificate")
	}
	kp := issued["keyPair"].(map[string]any)
	pair, err := tls.X509KeyPair([]byte(issued["certificatePem"].(string)), []byte(kp["PrivateKey"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}

// TestCertificateLifecycle issues a certificate through the API, connects
// with it over TLS, revokes it, and checks that the device is disconnected
// and cannot come back.
func TestCertificateLifecycle(t *testing.T) {
	s := startSecure(t)
	s.api("POST", "/api/things/scanner-1", "")
	issued := s.api("POST", "/api/things/scanner-1/keys-and-certificate", "")
	conf := clientTLS(t, issued)
	url := "tls://" + s.a.MQTTTLSAddr()

	d, err := connect(t, url, "scanner-1", conf)
	if err != nil {
		t.Fatalf("a valid certificate was refused: %v", err)
	}
	if got := d.report(t, "scanner-1", 1, 22); got != "accepted" {
		t.Fatalf("report over mutual TLS: %q", got)
	}
	start := time.Now()
	s.api("PUT", "/api/certificates/"+issued["certificateId"].(string)+"?newStatus=REVOKED", "")
	d.waitLost(t, time.Second)
	t.Logf("disconnected %v after the revocation", time.Since(start).Round(time.Millisecond))
	if _, err := connect(t, url, "scanner-1", conf); err == nil {
		t.Fatal("a revoked certificate was accepted")
	}
}

// TestQuarantineEndToEnd quarantines a device by API with a short time box
// and checks each promise of a quarantine with a real client.
func TestQuarantineEndToEnd(t *testing.T) {
	s := startSecure(t)
	s.api("POST", "/api/things/scanner-2", "")
	conf := clientTLS(t, s.api("POST", "/api/things/scanner-2/keys-and-certificate", ""))
	url := "tls://" + s.a.MQTTTLSAddr()
	d, err := connect(t, url, "scanner-2", conf)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := s.call(readOnly, "PUT", "/api/things/scanner-2/quarantine", ""); status != http.StatusForbidden {
		t.Fatalf("a read-only token quarantined a thing: %d", status)
	}

	start := time.Now()
	q := s.api("PUT", "/api/things/scanner-2/quarantine", `{"durationSeconds":2}`)
	d.waitLost(t, time.Second)
	t.Logf("disconnected %v after the quarantine", time.Since(start).Round(time.Millisecond))
	if q["thingGroupName"] != "quarantine" {
		t.Fatalf("quarantine: %v", q)
	}
	members := s.api("GET", "/api/thing-groups/quarantine/things", "")
	if fmt.Sprint(members["things"]) != "[scanner-2]" {
		t.Fatalf("quarantine group: %v", members)
	}

	d, err = connect(t, url, "scanner-2", conf)
	if err != nil {
		t.Fatalf("a quarantined device cannot reconnect: %v", err)
	}
	if got := d.report(t, "scanner-2", 1, 22); got != "accepted" {
		t.Fatalf("a quarantined device's report: %q", got)
	}
	if tok := d.c.Subscribe("$vigil/violations/#", 1, nil); tok.WaitTimeout(wait) && tok.(*paho.SubscribeToken).Result()["$vigil/violations/#"] != 0x80 {
		t.Fatal("a quarantined device subscribed beyond its replies")
	}

	deadline := time.Now().Add(5 * time.Second)
	for s.a.Mitigation().Quarantined("scanner-2") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if status, _ := s.call(admin, "GET", "/api/things/scanner-2/quarantine", ""); status != http.StatusNotFound {
		t.Fatal("not released when the time box ended")
	}
	t.Logf("released %v after the quarantine began, for a time box of 2s", time.Since(start).Round(time.Millisecond))
	if members := s.api("GET", "/api/thing-groups/quarantine/things", ""); fmt.Sprint(members["things"]) != "[]" {
		t.Fatalf("still in the quarantine group: %v", members)
	}
	if got := d.report(t, "scanner-2", 2, 22); got != "accepted" {
		t.Fatalf("a released device's report: %q", got)
	}
	xs := s.api("GET", "/api/detect/mitigationactions/executions?thingName=scanner-2", "")
	if n := len(xs["actionsExecutions"].([]any)); n != 2 {
		t.Fatalf("executions: %v", xs)
	}
}

// TestQuarantineOnAlarm names a quarantine as the mitigation of a
// behavior, raises its alarm, and finds the device quarantined and the
// action recorded in the violation's history.
func TestQuarantineOnAlarm(t *testing.T) {
	s := startSecure(t)
	s.api("POST", "/api/things/scanner-3", "")
	conf := clientTLS(t, s.api("POST", "/api/things/scanner-3/keys-and-certificate", ""))
	s.api("POST", "/api/security-profiles/ports", `{"behaviors":[{"name":"few-ports","metric":"aws:num-listening-tcp-ports",
		"criteria":{"comparisonOperator":"less-than","value":{"count":3},"consecutiveDatapointsToAlarm":1,"consecutiveDatapointsToClear":1}}]}`)
	s.api("PUT", "/api/security-profiles/ports/targets?securityProfileTargetArn=all/things", "")
	s.api("PUT", "/api/security-profiles/ports/mitigations",
		`{"behaviorMitigations":[{"behaviorName":"few-ports","actions":[{"quarantineParams":{"thingGroupName":"isolated","durationSeconds":3600}}]}]}`)

	d, err := connect(t, "tls://"+s.a.MQTTTLSAddr(), "scanner-3", conf)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.report(t, "scanner-3", 1, 22, 23, 80, 443, 8080); got != "accepted" {
		t.Fatalf("report: %q", got)
	}
	d.waitLost(t, 2*time.Second)
	active := s.api("GET", "/api/active-violations?thingName=scanner-3", "")
	violations := active["activeViolations"].([]any)
	if len(violations) != 1 {
		t.Fatalf("active violations: %v", active)
	}
	id := violations[0].(map[string]any)["violationId"].(string)
	q := s.api("GET", "/api/things/scanner-3/quarantine", "")
	if q["violationId"] != id || q["thingGroupName"] != "isolated" {
		t.Fatalf("quarantine: %v, want violation %s", q, id)
	}
	var xs map[string]any
	var got []any
	for deadline := time.Now().Add(wait); len(got) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		xs = s.api("GET", "/api/detect/mitigationactions/executions?violationId="+id, "")
		got = xs["actionsExecutions"].([]any) // recorded once the disconnection is done
	}
	if len(got) != 1 || got[0].(map[string]any)["status"] != "SUCCESSFUL" || got[0].(map[string]any)["behaviorName"] != "few-ports" {
		t.Fatalf("executions of %s: %v", id, xs)
	}
}

// TestAPIExposure refuses to serve the API beyond loopback without a
// token.
func TestAPIExposure(t *testing.T) {
	_, err := app.Start(app.Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "0.0.0.0:0", DataDir: t.TempDir(), Logger: zerolog.Nop()})
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("Start on 0.0.0.0 without a token: %v", err)
	}
	a, err := app.Start(app.Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "0.0.0.0:0", DataDir: t.TempDir(), Logger: zerolog.Nop(),
		Tokens: api.Tokens{Admin: []string{admin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	resp, err := http.Get(a.HTTPURL() + "/api/things")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/things without a token on 0.0.0.0: %d", resp.StatusCode)
	}
}
