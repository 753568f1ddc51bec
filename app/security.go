package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/vigil-iot/vigil/broker"
	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/certauthority"
	"github.com/vigil-iot/vigil/detector/mitigation"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
)

// CADir is the directory of Vigil's certificate authority in the data
// directory.
const CADir = "ca"

// openSecurity opens the certificate authority and the mitigation manager.
// The manager changes groups through the service and disconnects through
// the broker, both made after it: it reaches them through the App.
func (a *App) openSecurity() error {
	var err error
	a.ca, err = certauthority.Open(certauthority.Options{Dir: filepath.Join(a.opts.DataDir, CADir), DB: a.db, Now: a.opts.Now})
	if err != nil {
		return err
	}
	a.mitigation, err = mitigation.New(mitigation.Options{DB: a.db, Groups: appGroups{a}, Disconnector: appDisconnector{a},
		Now: a.opts.Now, Retention: a.opts.Retention, Logger: a.log})
	return err
}

// appGroups changes group memberships through the running service.
type appGroups struct{ a *App }

func (g appGroups) CreateGroup(gr registry.Group) (registry.Group, error) {
	return g.a.service.CreateGroup(gr)
}
func (g appGroups) AddThingToGroup(group, thing string) error {
	return g.a.service.AddThingToGroup(group, thing)
}
func (g appGroups) RemoveThingFromGroup(group, thing string) error {
	return g.a.service.RemoveThingFromGroup(group, thing)
}

// appDisconnector disconnects a thing from the embedded broker: a device's
// client id is its thing name.
type appDisconnector struct{ a *App }

func (d appDisconnector) Disconnect(thing string) error {
	if d.a.broker == nil {
		return broker.ErrNotConnected
	}
	return d.a.broker.Disconnect(thing)
}

// disconnector is what the API disconnects revoked things with: nil
// without an embedded broker.
func (a *App) disconnector() api.Disconnector {
	if a.broker == nil {
		return nil
	}
	return appDisconnector{a}
}

// brokerTLS returns the TLS configuration of the broker's TLS listener:
// the certificate of MQTTTLSCert and MQTTTLSKey, or one issued by Vigil's
// CA for the names the broker is reached by.
func (a *App) brokerTLS() (*tls.Config, error) {
	if a.opts.MQTTTLSAddr == "" {
		return nil, nil
	}
	var cert tls.Certificate
	var err error
	switch {
	case a.opts.MQTTTLSCert != "" || a.opts.MQTTTLSKey != "":
		cert, err = tls.LoadX509KeyPair(a.opts.MQTTTLSCert, a.opts.MQTTTLSKey)
		if err != nil {
			err = fmt.Errorf("load MQTT TLS certificate %s and key %s: %w", a.opts.MQTTTLSCert, a.opts.MQTTTLSKey, err)
		}
	default:
		cert, err = a.ca.ServerCertificate(a.serverNames())
	}
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// serverNames are the names a server certificate issued by Vigil's CA
// covers: localhost, the loopback addresses, the host name, the TLS
// listener's host when it names one, and MQTTTLSHosts.
func (a *App) serverNames() []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil {
		names = append(names, h)
	}
	if host, _, err := net.SplitHostPort(a.opts.MQTTTLSAddr); err == nil && host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			names = append(names, host)
		}
	}
	return append(names, a.opts.MQTTTLSHosts...)
}

// runMitigation applies mitigations and ends quarantine time boxes until
// the app closes, and feeds it the violation events the detector publishes.
func (a *App) runMitigation() error {
	err := a.broker.Subscribe(proto.ViolationsRoot+"/#", func(m broker.Message) {
		var ev proto.ViolationEvent
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			a.log.Warn().Err(err).Str("topic", m.Topic).Msg("violation event not understood; no mitigation")
			return
		}
		a.mitigation.HandleEvent(ev)
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.mitCancel = cancel
	a.mitDone = make(chan struct{})
	go func() {
		defer close(a.mitDone)
		_ = a.mitigation.Run(ctx)
	}()
	return nil
}

// stopMitigation stops what runMitigation started.
func (a *App) stopMitigation() {
	if a.mitCancel != nil {
		a.mitCancel()
		<-a.mitDone
	}
}

// CheckCertificate admits a client certificate that Vigil's CA issued to a
// registered thing and that is still good.
func (a authenticator) CheckCertificate(cert *x509.Certificate) (string, error) {
	thing := cert.Subject.CommonName
	if _, ok := a.reg.Thing(thing); !ok {
		return thing, fmt.Errorf("certificate for %q: %w", thing, broker.ErrUnknownThing)
	}
	if a.ca == nil {
		return thing, errors.New("no certificate authority")
	}
	return a.ca.Check(cert)
}

// listenHTTP opens the API's listener, refusing to expose it beyond
// loopback without tokens, and with TLS when HTTPTLSCert is set.
func (a *App) listenHTTP() (net.Listener, error) {
	if err := a.opts.Tokens.Check(); err != nil {
		return nil, err
	}
	if err := api.CheckExposure(a.opts.HTTPAddr, a.opts.Tokens); err != nil {
		return nil, err
	}
	var conf *tls.Config
	if a.opts.HTTPTLSCert != "" || a.opts.HTTPTLSKey != "" {
		cert, err := tls.LoadX509KeyPair(a.opts.HTTPTLSCert, a.opts.HTTPTLSKey)
		if err != nil {
			return nil, fmt.Errorf("load HTTP TLS certificate %s and key %s: %w", a.opts.HTTPTLSCert, a.opts.HTTPTLSKey, err)
		}
		conf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", a.opts.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for HTTP on %s: %w", a.opts.HTTPAddr, err)
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	return ln, nil
}

// HTTPURL is the API's base URL: http:// or https:// and the address.
func (a *App) HTTPURL() string {
	scheme := "http://"
	if a.opts.HTTPTLSCert != "" {
		scheme = "https://"
	}
	return scheme + a.HTTPAddr()
}

// MQTTTLSAddr is the address of the embedded broker's TLS listener, or ""
// when there is none.
func (a *App) MQTTTLSAddr() string {
	if a.broker == nil {
		return ""
	}
	return a.broker.TLSAddr()
}

// CA is Vigil's certificate authority; nil in sidecar mode.
func (a *App) CA() *certauthority.Authority { return a.ca }

// Mitigation is the mitigation manager; nil in sidecar mode.
func (a *App) Mitigation() *mitigation.Manager { return a.mitigation }
