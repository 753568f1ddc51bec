package broker_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/broker"
	"github.com/vigil-iot/vigil/detector/certauthority"
	"github.com/vigil-iot/vigil/detector/store"
)

// caChecker checks certificates with a real certificate authority, and
// knows the things of the password Authenticator.
type caChecker struct {
	ca   *certauthority.Authority
	auth *memAuth
}

func (c caChecker) CheckCertificate(cert *x509.Certificate) (string, error) {
	thing := cert.Subject.CommonName
	if _, ok := c.auth.things[thing]; !ok {
		return thing, fmt.Errorf("%q: %w", thing, broker.ErrUnknownThing)
	}
	return c.ca.Check(cert)
}

func newCA(t *testing.T) *certauthority.Authority {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ca, err := certauthority.Open(certauthority.Options{Dir: t.TempDir(), DB: db})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// startTLS runs a broker with a TLS listener whose server certificate and
// client certificates come from ca.
func startTLS(t *testing.T, ca *certauthority.Authority, opts broker.Options) *broker.Broker {
	t.Helper()
	server, err := ca.ServerCertificate([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	opts.TLSAddr = "127.0.0.1:0"
	opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{server}}
	if opts.Certificates == nil {
		opts.Certificates = caChecker{ca: ca, auth: testAuth(t)}
	}
	return start(t, opts)
}

// withCert makes a client connect over TLS, trusting ca, with the given
// certificate (none when issued is nil).
func withCert(c client, ca *certauthority.Authority, issued *certauthority.Issued) client {
	c.configure = func(o *paho.ClientOptions) {
		pool, err := ca.Pool()
		if err != nil {
			panic(err)
		}
		conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if issued != nil {
			pair, err := tls.X509KeyPair([]byte(issued.CertificatePEM), []byte(issued.PrivateKeyPEM))
			if err != nil {
				panic(err)
			}
			conf.Certificates = []tls.Certificate{pair}
		}
		o.SetTLSConfig(conf)
	}
	return c
}

func issue(t *testing.T, ca *certauthority.Authority, thing string, o certauthority.IssueOptions) *certauthority.Issued {
	t.Helper()
	is, err := ca.Issue(thing, o)
	if err != nil {
		t.Fatal(err)
	}
	return &is
}

// TestMutualTLS connects real clients over TLS, and checks that each
// refusal is counted against the thing it claimed.
func TestMutualTLS(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	b := startTLS(t, ca, broker.Options{Auth: testAuth(t)})
	url := "tls://" + b.TLSAddr()

	good := issue(t, ca, "d1", certauthority.IssueOptions{})
	expired := issue(t, ca, "d1", certauthority.IssueOptions{
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	revoked := issue(t, ca, "d1", certauthority.IssueOptions{})
	if _, err := ca.SetStatus(revoked.ID, certauthority.Revoked); err != nil {
		t.Fatal(err)
	}
	foreign := issue(t, other, "d1", certauthority.IssueOptions{})
	unknown := issue(t, ca, "stranger", certauthority.IssueOptions{})

	for _, tc := range []struct {
		name     string
		c        client
		admitted bool
		counted  string // the thing whose counters move; "" for none
	}{
		{"valid certificate", withCert(client{id: "d1"}, ca, good), true, "d1"},
		{"certificate of another CA", withCert(client{id: "d1"}, ca, foreign), false, "d1"},
		{"expired certificate", withCert(client{id: "d1"}, ca, expired), false, "d1"},
		{"revoked certificate", withCert(client{id: "d1"}, ca, revoked), false, "d1"},
		{"client id is not the certificate's thing", withCert(client{id: "d2"}, ca, good), false, "d1"},
		{"username is not the certificate's thing", withCert(client{id: "d1", username: "d2"}, ca, good), false, "d1"},
		{"certificate of an unregistered thing", withCert(client{id: "stranger"}, ca, unknown), false, ""},
		{"password over TLS", withCert(client{id: "d2", username: "d2", password: "pw2"}, ca, nil), true, "d2"},
		{"password of another thing", withCert(client{id: "d1", password: "pw2"}, ca, nil), false, "d1"},
		{"another thing's username and password", withCert(client{id: "d1", username: "d2", password: "pw2"}, ca, nil), false, "d2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.Stats(tc.counted)
			pc, err := dial(t, url, tc.c)
			if tc.admitted != (err == nil) {
				t.Fatalf("admitted = %v (%v), want %v", err == nil, err, tc.admitted)
			}
			if pc != nil {
				pc.Disconnect(0)
			}
			if tc.counted == "" {
				if s := b.Stats("stranger"); !reflect.DeepEqual(s, broker.ThingStats{}) {
					t.Fatalf("an unregistered name was counted: %+v", s)
				}
				return
			}
			after := b.Stats(tc.counted)
			wantFailures := before.AuthorizationFailures
			if !tc.admitted {
				wantFailures++
			}
			if after.ConnectionAttempts != before.ConnectionAttempts+1 || after.AuthorizationFailures != wantFailures {
				t.Fatalf("stats of %s went from %+v to %+v", tc.counted, before, after)
			}
		})
	}
}

// TestTLSWithoutChecker refuses certificates when nobody can check them.
func TestTLSWithoutChecker(t *testing.T) {
	ca := newCA(t)
	server, err := ca.ServerCertificate([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, broker.Options{Auth: testAuth(t), TLSAddr: "127.0.0.1:0",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{server}, ClientAuth: tls.RequestClientCert}})
	if _, err := dial(t, "tls://"+b.TLSAddr(), withCert(client{id: "d1"}, ca, issue(t, ca, "d1", certauthority.IssueOptions{}))); err == nil {
		t.Fatal("a certificate was accepted without a checker")
	}
	nb, err := broker.New(broker.Options{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err) // the TLS configuration is checked by Start
	}
	if err := nb.Start(); err == nil || !strings.Contains(err.Error(), "server certificate") {
		t.Fatalf("Start with TLSAddr and no server certificate: %v", err)
	}
}

// TestQuarantinedSession checks what a quarantined client may still do.
func TestQuarantinedSession(t *testing.T) {
	q := &quarantineSet{}
	b := start(t, broker.Options{Auth: testAuth(t), Quarantine: q, AllowAnonymous: true})
	in := subscribe(t, b, "$vigil/things/+/defender/metrics/json")

	q.set("sim-1", "fleet", "a1")
	fleet := mustDial(t, b, fleetSim)
	done(t, fleet.Publish("$vigil/things/d1/defender/metrics/json", 1, false, "{}"))
	anon := mustDial(t, b, anonymous)
	if code, _ := subscribeTCP(t, anon, "$vigil/violations/#"); code != 0x80 {
		t.Fatalf("quarantined anonymous device read the violations: code %#x", code)
	}
	done(t, anon.Publish("$vigil/things/a1/defender/metrics/json", 1, false, "own"))
	if code, _ := subscribeTCP(t, anon, "$vigil/things/a1/defender/metrics/json/accepted"); code != 1 {
		t.Fatalf("quarantined device may not read its replies: code %#x", code)
	}
	barrier(t, fleet)
	barrier(t, anon)
	got := in.take()
	if len(got) != 1 || string(got[0].Payload) != "own" {
		t.Fatalf("delivered %v, want only the quarantined device's own report", got)
	}

	q.set()
	done(t, fleet.Publish("$vigil/things/d1/defender/metrics/json", 1, false, "{}"))
	barrier(t, fleet)
	if got := in.take(); len(got) != 1 {
		t.Fatalf("after release the fleet's report was not delivered: %v", got)
	}
}

// quarantineSet is a Quarantine over a set of names.
type quarantineSet struct {
	mu    sync.Mutex
	names map[string]bool
}

func (q *quarantineSet) set(names ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.names = map[string]bool{}
	for _, n := range names {
		q.names[n] = true
	}
}

func (q *quarantineSet) Quarantined(thing string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.names[thing]
}
