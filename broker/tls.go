package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/vigil-iot/vigil/proto"
)

// CertificateChecker decides whether a client certificate presented over
// TLS is good, and which thing it names.
//
// It returns the thing name the certificate claims (its common name) even
// when it refuses the certificate, so that the refusal is counted against
// that thing; an error wrapping ErrUnknownThing when no such thing is
// registered (the refusal is then not counted under that name); and any
// other error for a certificate it refuses (another CA, expired, revoked).
type CertificateChecker interface {
	CheckCertificate(cert *x509.Certificate) (thing string, err error)
}

// Reasons for refusing a certificate, for the logs.
var (
	errNoCertChecker = errors.New("client certificates are not accepted: no certificate checker")
	errCertificate   = errors.New("client certificate refused")
)

// tlsConfig returns the configuration of the TLS listener: the caller's,
// asking clients for a certificate that the hook verifies itself, so that a
// refused certificate is counted against the thing it names rather than
// failing the handshake anonymously.
func (o Options) tlsConfig() (*tls.Config, error) {
	if o.TLSConfig == nil || (len(o.TLSConfig.Certificates) == 0 && o.TLSConfig.GetCertificate == nil) {
		return nil, errors.New("broker: TLSAddr needs a TLSConfig with a server certificate")
	}
	c := o.TLSConfig.Clone()
	if c.ClientAuth == tls.NoClientCert && o.Certificates != nil {
		c.ClientAuth = tls.RequestClientCert
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c, nil
}

// listenTLS adds the TLS listener when one is configured.
func (b *Broker) listenTLS() error {
	if b.opts.TLSAddr == "" {
		return nil
	}
	conf, err := b.opts.tlsConfig()
	if err != nil {
		return err
	}
	l, err := b.addListener("tls", b.opts.TLSAddr, conf)
	if err != nil {
		return fmt.Errorf("broker: TLS listen on %s: %w", b.opts.TLSAddr, err)
	}
	b.tls = l
	return nil
}

// TLSAddr returns the address of the TLS listener: the actual port once
// started, the configured address before, "" when there is none.
func (b *Broker) TLSAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tlsAddrLocked()
}

// tlsAddrLocked is TLSAddr with b.mu held.
func (b *Broker) tlsAddrLocked() string {
	if b.tls != nil {
		return b.tls.Address()
	}
	return b.opts.TLSAddr
}

// peerCertificate returns the certificate a client presented over TLS, or
// nil when it presented none or is not on TLS. The handshake is complete
// by then: it happened when the broker read the CONNECT packet.
func peerCertificate(cl *mqtt.Client) *x509.Certificate {
	conn, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil
	}
	return certs[0]
}

// byCertificate identifies a device by its client certificate. The device
// is the thing the certificate names; its client id (and username, when
// given) must be that name. A password sent alongside is ignored: the
// certificate is the stronger credential.
func (id identifier) byCertificate(c packets.ConnectParams, cert *x509.Certificate) (*session, string, error) {
	if id.certs == nil {
		return nil, "", errNoCertChecker
	}
	thing, err := id.certs.CheckCertificate(cert)
	counted := thing
	if errors.Is(err, ErrUnknownThing) || proto.ValidateThingName(thing) != nil {
		counted = ""
	}
	if err != nil {
		return nil, counted, fmt.Errorf("%w: %w", errCertificate, err)
	}
	ident := Identity{Thing: thing, Role: RoleDevice}
	return &session{Identity: ident}, counted, checkIdentity(ident, c.ClientIdentifier, string(c.Username))
}
