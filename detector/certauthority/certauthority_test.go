package certauthority_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/certauthority"
	"github.com/vigil-iot/vigil/detector/store"
)

func open(t *testing.T, dir string, db *store.DB, now func() time.Time) *certauthority.Authority {
	t.Helper()
	a, err := certauthority.Open(certauthority.Options{Dir: dir, DB: db, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newDB(t *testing.T) *store.DB { return newDBB(t) }

func newDBB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func parse(t *testing.T, certPEM string) *x509.Certificate { return parseB(t, certPEM) }

func parseB(t testing.TB, certPEM string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := newDB(t)
	ca := open(t, t.TempDir(), db, clock)
	other := open(t, t.TempDir(), newDB(t), clock)

	good, err := ca.Issue("t1", certauthority.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := ca.Issue("t1", certauthority.IssueOptions{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
	revoked, _ := ca.Issue("t1", certauthority.IssueOptions{})
	if _, err := ca.SetStatus(revoked.ID, certauthority.Revoked); err != nil {
		t.Fatal(err)
	}
	inactive, _ := ca.Issue("t1", certauthority.IssueOptions{})
	if _, err := ca.SetStatus(inactive.ID, certauthority.Inactive); err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.Issue("t1", certauthority.IssueOptions{})

	for _, tc := range []struct {
		name string
		cert string
		want error
	}{
		{"valid", good.CertificatePEM, nil},
		{"expired", expired.CertificatePEM, certauthority.ErrExpired},
		{"revoked", revoked.CertificatePEM, certauthority.ErrRevoked},
		{"inactive", inactive.CertificatePEM, certauthority.ErrInactive},
		{"another CA", foreign.CertificatePEM, certauthority.ErrUnknownCA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			thing, err := ca.Check(parse(t, tc.cert))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Check: %v, want %v", err, tc.want)
			}
			if thing != "t1" {
				t.Fatalf("thing %q, want t1 even when refused", thing)
			}
		})
	}
}

func TestPersistence(t *testing.T) {
	dir, db := t.TempDir(), newDB(t)
	ca := open(t, dir, db, nil)
	issued, err := ca.Issue("t1", certauthority.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.SetStatus(issued.ID, certauthority.Revoked); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, certauthority.KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("CA key: %v, mode %v; want 0600", err, info.Mode())
	}

	again := open(t, dir, db, nil)
	first, _ := ca.CACertificatePEM()
	if second, err := again.CACertificatePEM(); err != nil || string(second) != string(first) {
		t.Fatal("reopening created a new CA")
	}
	r, ok := again.Certificate(issued.ID)
	if !ok || r.Status != certauthority.Revoked || r.Thing != "t1" {
		t.Fatalf("record after reopening: %+v, %v", r, ok)
	}
	if _, err := again.SetStatus(issued.ID, certauthority.Active); !errors.Is(err, certauthority.ErrInvalid) {
		t.Fatalf("reactivating a revoked certificate: %v, want ErrInvalid", err)
	}
	if got := again.Certificates("t1"); len(got) != 1 {
		t.Fatalf("Certificates(t1) = %d records, want 1", len(got))
	}
}

func TestOpenRefusesHalfACA(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, certauthority.CertFile), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := certauthority.Open(certauthority.Options{Dir: dir, DB: newDB(t)}); err == nil {
		t.Fatal("Open with ca.crt but no ca.key succeeded")
	}
}

func TestIssueRejectsBadInput(t *testing.T) {
	ca := open(t, t.TempDir(), newDB(t), nil)
	for name, thing := range map[string]string{"empty": "", "slash": "a/b", "wildcard": "a+"} {
		if _, err := ca.Issue(thing, certauthority.IssueOptions{}); !errors.Is(err, certauthority.ErrInvalid) {
			t.Errorf("%s: Issue(%q) = %v, want ErrInvalid", name, thing, err)
		}
	}
	if _, err := ca.SetStatus("nope", certauthority.Revoked); !errors.Is(err, certauthority.ErrNotFound) {
		t.Errorf("SetStatus of an unknown id: %v", err)
	}
	if _, err := ca.SetStatus("nope", "GONE"); !errors.Is(err, certauthority.ErrInvalid) {
		t.Errorf("SetStatus GONE: %v", err)
	}
}

func TestServerCertificate(t *testing.T) {
	ca := open(t, t.TempDir(), newDB(t), nil)
	pair, err := ca.ServerCertificate([]string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := ca.Pool()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Fatal(err)
	}
}

func TestCreatedOnFirstUse(t *testing.T) {
	dir := t.TempDir()
	ca := open(t, dir, newDB(t), nil)
	if _, err := os.Stat(filepath.Join(dir, certauthority.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the CA exists before its first use: %v", err)
	}
	other := open(t, t.TempDir(), newDB(t), nil)
	foreign, err := other.Issue("t1", certauthority.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Check(parse(t, foreign.CertificatePEM)); !errors.Is(err, certauthority.ErrUnknownCA) {
		t.Fatalf("Check before the CA exists: %v", err)
	}
	if _, err := ca.CACertificatePEM(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, certauthority.KeyFile)); err != nil {
		t.Fatalf("the CA was not created on first use: %v", err)
	}
}
