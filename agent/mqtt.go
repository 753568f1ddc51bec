package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/proto"
)

// Defaults of MQTTOptions.
const (
	DefaultKeepAlive         = 60 * time.Second
	DefaultMaxReconnectDelay = 2 * time.Minute
	DefaultFirstRetryDelay   = time.Second
	DefaultConnectTimeout    = 30 * time.Second
)

// MQTTOptions configures the agent's MQTT connection.
type MQTTOptions struct {
	// Broker is the broker URL: mqtt:// or tcp:// for plain TCP, mqtts://,
	// ssl:// or tls:// for TLS, ws:// or wss:// for WebSocket.
	Broker string
	// Thing is the thing name, used as the MQTT client id.
	Thing string
	// Username and Password authenticate the thing, when set.
	Username string
	Password string
	// CAFile is a PEM file of CA certificates to trust instead of the
	// system's; CertFile and KeyFile are the client certificate and key.
	CAFile   string
	CertFile string
	KeyFile  string
	// Insecure skips verification of the server certificate (testing only).
	Insecure bool
	// Replies is the topic filter of the thing's report replies; each reply
	// is logged. Empty means no subscription.
	Replies string
	// Format is the encoding of the replies.
	Format proto.Format
	// MaxReconnectDelay caps the backoff between reconnects.
	MaxReconnectDelay time.Duration
	// FirstRetryDelay is the wait after the first failed connection; it
	// doubles with each failure up to MaxReconnectDelay. 0 means
	// DefaultFirstRetryDelay.
	FirstRetryDelay time.Duration
	// Logger receives connection and reply logs.
	Logger zerolog.Logger
}

// MQTTClient is the agent's connection to the broker. It reconnects with
// backoff by itself and subscribes to the replies on every connect.
type MQTTClient struct {
	client mqtt.Client
	log    zerolog.Logger
	stop   chan struct{} // closed by Close
	done   chan struct{} // closed when the first connection is made or given up
}

var _ Publisher = (*MQTTClient)(nil)

// DialMQTT starts connecting to the broker and returns at once; the client
// keeps trying in the background until Close.
func DialMQTT(o MQTTOptions) (*MQTTClient, error) {
	opts, err := clientOptions(o)
	if err != nil {
		return nil, err
	}
	c := &MQTTClient{log: o.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	opts.SetOnConnectHandler(func(cl mqtt.Client) {
		c.log.Info().Str("broker", o.Broker).Msg("connected")
		if o.Replies != "" {
			c.subscribe(cl, o.Replies, o.Format)
		}
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		c.log.Warn().Err(err).Msg("connection lost; reconnecting")
	})
	opts.SetConnectionAttemptHandler(func(broker *url.URL, cfg *tls.Config) *tls.Config {
		c.log.Debug().Str("broker", broker.Redacted()).Msg("connecting")
		return cfg
	})
	c.client = mqtt.NewClient(opts)
	first := o.FirstRetryDelay
	if first <= 0 {
		first = DefaultFirstRetryDelay
	}
	go c.connect(first, max(opts.MaxReconnectInterval, first))
	return c, nil
}

// connect makes the first connection, waiting between failed attempts
// for a delay that starts at first and doubles up to maxDelay, with
// jitter, so that a fleet that finds its broker down does not come back
// in step. Once connected, the client reconnects by itself, with the
// same cap.
func (c *MQTTClient) connect(first, maxDelay time.Duration) {
	defer close(c.done)
	delay := first
	for {
		token := c.client.Connect()
		select {
		case <-token.Done():
		case <-c.stop:
			return
		}
		if token.Error() == nil {
			return
		}
		wait := delay/2 + rand.N(delay/2+1) // between half the delay and all of it
		c.log.Warn().Err(token.Error()).Dur("retry_in", wait).Msg("connection failed")
		select {
		case <-time.After(wait):
		case <-c.stop:
			return
		}
		delay = min(2*delay, maxDelay)
	}
}

func clientOptions(o MQTTOptions) (*mqtt.ClientOptions, error) {
	u, err := url.Parse(o.Broker)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("broker URL %q: want scheme://host:port", o.Broker)
	}
	opts := mqtt.NewClientOptions().AddBroker(o.Broker).SetClientID(o.Thing)
	opts.SetUsername(o.Username).SetPassword(o.Password)
	opts.SetKeepAlive(DefaultKeepAlive).SetConnectTimeout(DefaultConnectTimeout)
	opts.SetAutoReconnect(true).SetConnectRetry(false)
	maxDelay := o.MaxReconnectDelay
	if maxDelay <= 0 {
		maxDelay = DefaultMaxReconnectDelay
	}
	opts.SetMaxReconnectInterval(maxDelay).SetCleanSession(true).SetOrderMatters(false)
	switch u.Scheme {
	case "mqtt", "tcp", "ws":
	case "mqtts", "ssl", "tls", "wss", "tcps":
		cfg, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(cfg)
	default:
		return nil, fmt.Errorf("broker URL %q: unknown scheme %q (want mqtt, mqtts, tcp, ssl, tls, ws or wss)", o.Broker, u.Scheme)
	}
	return opts, nil
}

// tlsConfig builds the client's TLS settings from the CA, certificate and
// key files.
func tlsConfig(o MQTTOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // opt-in, for testing
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

// subscribe asks for the thing's replies and logs each one.
func (c *MQTTClient) subscribe(cl mqtt.Client, filter string, format proto.Format) {
	token := cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		c.logReply(m.Topic(), m.Payload(), format)
	})
	go func() {
		if token.WaitTimeout(DefaultConnectTimeout) && token.Error() != nil {
			c.log.Error().Err(token.Error()).Str("filter", filter).Msg("subscribe to replies failed")
		}
	}()
}

func (c *MQTTClient) logReply(topic string, payload []byte, format proto.Format) {
	reply, err := proto.DecodeReply(format, payload)
	if err != nil {
		c.log.Warn().Err(err).Str("topic", topic).Msg("unreadable reply")
		return
	}
	if reply.Status == proto.Accepted {
		c.log.Debug().Int64("report_id", reply.ReportID).Msg("report accepted")
		return
	}
	ev := c.log.Warn().Int64("report_id", reply.ReportID)
	if d := reply.StatusDetails; d != nil {
		ev = ev.Str("code", string(d.ErrorCode)).Str("reason", d.ErrorMessage)
	}
	ev.Msg("report rejected")
}

// Connected reports whether the connection is up.
func (c *MQTTClient) Connected() bool { return c.client.IsConnectionOpen() }

// Publish sends a payload at QoS 1 and waits for the broker's PUBACK until
// ctx ends; then it returns ErrPublishUnconfirmed.
func (c *MQTTClient) Publish(ctx context.Context, topic string, payload []byte) error {
	token := c.client.Publish(topic, 1, false, payload)
	select {
	case <-token.Done():
		return token.Error()
	case <-ctx.Done():
		return ErrPublishUnconfirmed
	}
}

// Close stops connecting, and disconnects, giving in-flight messages a
// moment to finish.
func (c *MQTTClient) Close() {
	close(c.stop)
	<-c.done
	c.client.Disconnect(250)
}
