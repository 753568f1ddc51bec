package certauthority_test

import (
	"testing"

	"github.com/vigil-iot/vigil/detector/certauthority"
)

// BenchmarkCheck measures what the broker spends on a client certificate
// per connection, besides the TLS handshake.
func BenchmarkCheck(b *testing.B) {
	ca, err := certauthority.Open(certauthority.Options{Dir: b.TempDir(), DB: newDBB(b)})
	if err != nil {
		b.Fatal(err)
	}
	issued, err := ca.Issue("t1", certauthority.IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cert := parseB(b, issued.CertificatePEM)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ca.Check(cert); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssue measures issuing a key and certificate.
func BenchmarkIssue(b *testing.B) {
	ca, err := certauthority.Open(certauthority.Options{Dir: b.TempDir(), DB: newDBB(b)})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ca.Issue("t1", certauthority.IssueOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
