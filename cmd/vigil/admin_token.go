package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/pflag"
)

// addAPIAuthFlags declares the flags that authenticate an admin command to
// the API and let it trust a server certificate of a private CA.
func addAPIAuthFlags(f *pflag.FlagSet) {
	f.String("token", "", "API token, sent as Authorization: Bearer (env VIGIL_TOKEN)")
	f.String("api-ca", "", "PEM file of the CA that signs the server's HTTPS certificate (default: the system's)")
}

// authenticate sets the token and trusted CA of the flags on an API
// client.
func (c *apiClient) authenticate(f *pflag.FlagSet) error {
	c.token = mustString(f, "token")
	caFile := mustString(f, "api-ca")
	if caFile == "" {
		return nil
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("--api-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return usageErrorf("--api-ca %s: no PEM certificate in the file", caFile)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.http.Transport = transport
	return nil
}
