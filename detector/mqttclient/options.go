package mqttclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// baseOptions holds what both connections share: the broker, credentials,
// TLS, keep-alive and reconnection.
func baseOptions(o Options) (*mqtt.ClientOptions, error) {
	u, err := url.Parse(o.Broker)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("broker URL %q: want scheme://host:port", redact(o.Broker))
	}
	opts := mqtt.NewClientOptions().AddBroker(o.Broker).SetUsername(o.Username).SetPassword(o.Password)
	opts.SetKeepAlive(DefaultKeepAlive).SetConnectTimeout(attemptTimeout).SetWriteTimeout(o.PublishTimeout)
	opts.SetAutoReconnect(true).SetConnectRetry(false).SetMaxReconnectInterval(o.MaxReconnectDelay)
	switch u.Scheme {
	case "mqtt", "tcp", "ws":
		if o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" {
			return nil, fmt.Errorf("broker URL %q: CA and client certificate files need a TLS scheme (mqtts, ssl, tls or wss)", redact(o.Broker))
		}
	case "mqtts", "ssl", "tls", "tcps", "wss":
		cfg, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(cfg)
	default:
		return nil, fmt.Errorf("broker URL %q: unknown scheme %q (want mqtt, mqtts, tcp, ssl, tls, ws or wss)", redact(o.Broker), u.Scheme)
	}
	return opts, nil
}

// tlsConfig builds the TLS settings from the CA, certificate and key files.
func tlsConfig(o Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("a client certificate needs both the certificate and the key file")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
