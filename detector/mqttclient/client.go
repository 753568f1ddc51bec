package mqttclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/proto"
)

// Defaults of Options.
const (
	DefaultClientID          = "vigil-detect"
	DefaultPublishTimeout    = 10 * time.Second
	DefaultConnectTimeout    = 30 * time.Second
	DefaultMaxReconnectDelay = 30 * time.Second
	DefaultKeepAlive         = 30 * time.Second
	// PublisherSuffix ends the client id of the publishing connection.
	PublisherSuffix = "-pub"
	// attemptTimeout bounds one connection attempt.
	attemptTimeout = 10 * time.Second
	firstRetry     = 100 * time.Millisecond
	maxFirstRetry  = 2 * time.Second
)

// Errors of Publish.
var (
	// ErrNotConnected is returned while the publishing connection is down.
	ErrNotConnected = errors.New("not connected to the broker")
	// ErrPublishTimeout is returned when the broker did not acknowledge a
	// publish within Options.PublishTimeout.
	ErrPublishTimeout = errors.New("no acknowledgement from the broker in time")
)

// Options configures a Client. Broker is required.
type Options struct {
	// Broker is the broker URL: mqtt:// or tcp:// for TCP, mqtts://, ssl://
	// or tls:// for TLS, ws:// or wss:// for WebSocket.
	Broker string
	// ClientID names the persistent session of the report subscription;
	// the publishing connection adds PublisherSuffix. "" means
	// DefaultClientID.
	ClientID string
	// Username and Password authenticate both connections, when set.
	Username string
	Password string
	// CAFile is a PEM file of CA certificates to trust instead of the
	// system's; CertFile and KeyFile are a client certificate and its key.
	CAFile   string
	CertFile string
	KeyFile  string
	// Filters are the report topic filters; nil means the $aws and $vigil
	// report filters.
	Filters []string
	// PublishTimeout bounds the wait for a PUBACK; 0 means
	// DefaultPublishTimeout.
	PublishTimeout time.Duration
	// ConnectTimeout bounds the first connection; 0 means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxReconnectDelay caps the backoff between reconnects; 0 means
	// DefaultMaxReconnectDelay.
	MaxReconnectDelay time.Duration
	Logger            zerolog.Logger
}

// Handler takes one report message: service.Service.HandleReport, with ""
// as the sender.
type Handler func(topic string, payload []byte)

// Client is the detector's pair of connections to an external broker.
type Client struct {
	opts    Options
	log     zerolog.Logger
	pub     mqtt.Client
	sub     mqtt.Client
	handle  Handler
	acks    ackQueue
	closing atomic.Bool
	// subscribed receives the outcome of each subscription, for Receive to
	// wait for the first one.
	subscribed chan error
	once       sync.Once
}

var _ service.Publisher = (*Client)(nil)

// Dial checks the options and opens the publishing connection, retrying
// until it is up or ConnectTimeout passes. Reports flow only after Receive.
func Dial(ctx context.Context, o Options) (*Client, error) {
	o, err := withDefaults(o)
	if err != nil {
		return nil, err
	}
	base, err := baseOptions(o)
	if err != nil {
		return nil, err
	}
	c := &Client{opts: o, log: o.Logger.With().Str("component", "mqttclient").Logger(), acks: newAckQueue()}
	opts := base.SetClientID(o.ClientID + PublisherSuffix).SetCleanSession(true)
	c.watch(opts, "publish")
	c.pub = mqtt.NewClient(opts)
	if err := connect(ctx, c.pub, o.ConnectTimeout); err != nil {
		return nil, fmt.Errorf("connect to %s as %s: %w", redact(o.Broker), o.ClientID+PublisherSuffix, err)
	}
	return c, nil
}

func withDefaults(o Options) (Options, error) {
	if o.Broker == "" {
		return o, errors.New("broker URL is required")
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.Filters == nil {
		o.Filters = []string{proto.ReportFilter(proto.RootAWS), proto.ReportFilter(proto.RootVigil)}
	}
	o.PublishTimeout = orDefault(o.PublishTimeout, DefaultPublishTimeout)
	o.ConnectTimeout = orDefault(o.ConnectTimeout, DefaultConnectTimeout)
	o.MaxReconnectDelay = orDefault(o.MaxReconnectDelay, DefaultMaxReconnectDelay)
	return o, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// watch logs the connection's ups and downs.
func (c *Client) watch(opts *mqtt.ClientOptions, role string) {
	log := c.log.With().Str("connection", role).Logger()
	prev := opts.OnConnect
	opts.SetOnConnectHandler(func(cl mqtt.Client) {
		log.Info().Str("broker", redact(c.opts.Broker)).Msg("connected")
		if prev != nil {
			prev(cl)
		}
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		log.Warn().Err(err).Msg("connection lost; reconnecting")
	})
}

// connect makes the first connection, retrying with a doubling delay until
// timeout, except when the broker refuses the client.
func connect(ctx context.Context, cl mqtt.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := firstRetry
	for {
		tok := cl.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			cl.Disconnect(0)
			return ctx.Err()
		}
		err := tok.Error()
		if err == nil || refused(err) {
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), err)
		}
		delay = min(2*delay, maxFirstRetry)
	}
}

// refused tells a broker's refusal, which retrying does not cure, from a
// network error.
func refused(err error) bool {
	for _, r := range []error{packets.ErrorRefusedBadProtocolVersion, packets.ErrorRefusedIDRejected,
		packets.ErrorRefusedBadUsernameOrPassword, packets.ErrorRefusedNotAuthorised} {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// Receive opens the persistent session and hands every report to h, in
// order, until Close. It returns once the session is up and subscribed
// (reports queued by the broker while the detector was away flow at once),
// or fails after ConnectTimeout. It is called once.
func (c *Client) Receive(ctx context.Context, h Handler) error {
	base, err := baseOptions(c.opts)
	if err != nil {
		return err
	}
	c.handle = h
	c.subscribed = make(chan error, 1)
	opts := base.SetClientID(c.opts.ClientID).SetCleanSession(false).SetOrderMatters(true).SetAutoAckDisabled(true)
	// Messages of the stored session may arrive before the subscription is
	// renewed: the default handler takes them all.
	opts.SetDefaultPublishHandler(c.onMessage)
	opts.SetOnConnectHandler(c.subscribe)
	c.watch(opts, "receive")
	c.sub = mqtt.NewClient(opts)
	if err := connect(ctx, c.sub, c.opts.ConnectTimeout); err != nil {
		return fmt.Errorf("connect to %s as %s: %w", redact(c.opts.Broker), c.opts.ClientID, err)
	}
	select {
	case err := <-c.subscribed:
		if err != nil {
			return fmt.Errorf("subscribe to %v on %s: %w", c.opts.Filters, redact(c.opts.Broker), err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// subscribe renews the report subscriptions on every connect, for a broker
// that lost its sessions.
func (c *Client) subscribe(cl mqtt.Client) {
	err := c.subscribeOnce(cl)
	if err != nil {
		c.log.Error().Err(err).Strs("filters", c.opts.Filters).Msg("subscribe failed")
	}
	select {
	case c.subscribed <- err:
	default: // nobody waits after the first connect
	}
}

func (c *Client) subscribeOnce(cl mqtt.Client) error {
	filters := make(map[string]byte, len(c.opts.Filters))
	for _, f := range c.opts.Filters {
		filters[f] = 1
	}
	tok := cl.SubscribeMultiple(filters, nil)
	if !tok.WaitTimeout(c.opts.ConnectTimeout) {
		return errors.New("no answer from the broker")
	}
	if err := tok.Error(); err != nil {
		return err
	}
	for f, qos := range tok.(*mqtt.SubscribeToken).Result() {
		if qos > 2 {
			return fmt.Errorf("the broker refused the subscription to %s (check its ACL)", f)
		}
	}
	return nil
}

// onMessage runs on paho's router goroutine, one message at a time.
func (c *Client) onMessage(_ mqtt.Client, m mqtt.Message) {
	if c.closing.Load() {
		return // not acknowledged: the broker delivers it to the next session
	}
	key, answered := reportKey(m.Topic())
	if !answered {
		m.Ack()
		return
	}
	c.acks.push(key, m)
	c.handle(m.Topic(), m.Payload())
}

// reportKey names the report topic a message or reply belongs to, and
// whether the detector answers a message on it. It follows
// service.HandleReport: a topic whose thing cannot be read is ignored.
func reportKey(topic string) (string, bool) {
	t, err := proto.ParseReportTopic(topic)
	if err != nil && t.Thing == "" {
		return "", false
	}
	t.Reply = proto.NoReply
	return t.String(), true
}

// Publish sends a message on the publishing connection. A QoS 1 or 2
// message waits for the broker's acknowledgement, up to PublishTimeout. A
// reply to a report also acknowledges that report to the broker.
func (c *Client) Publish(topic string, payload []byte, retain bool, qos byte) error {
	err := c.publish(topic, payload, retain, qos)
	if t, perr := proto.ParseReportTopic(topic); perr == nil && t.Reply != proto.NoReply {
		key, _ := reportKey(topic)
		c.acks.ack(key)
	}
	return err
}

func (c *Client) publish(topic string, payload []byte, retain bool, qos byte) error {
	if !c.pub.IsConnectionOpen() {
		return ErrNotConnected
	}
	tok := c.pub.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(c.opts.PublishTimeout) {
		return ErrPublishTimeout
	}
	return tok.Error()
}

// Unanswered returns how many reports were handed to the detector and not
// yet answered.
func (c *Client) Unanswered() int { return c.acks.len() }

// Drain stops handing reports to the detector and waits until those it
// already has are answered, or ctx ends. Reports that arrive meanwhile are
// left unacknowledged, for the next session. The detector must keep
// running until Drain returns.
func (c *Client) Drain(ctx context.Context) error {
	c.closing.Store(true)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for c.acks.len() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d reports still unanswered: %w", c.acks.len(), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// Close disconnects both connections. Reports not yet answered stay
// unacknowledged, so the broker delivers them again to the next session.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.closing.Store(true)
		if c.sub != nil {
			c.sub.Disconnect(250)
		}
		c.pub.Disconnect(250)
	})
	return nil
}

// redact hides a password written in the broker URL.
func redact(broker string) string {
	u, err := url.Parse(broker)
	if err != nil {
		return broker
	}
	return u.Redacted()
}

// Broker returns the broker's URL, without a password.
func (c *Client) Broker() string { return redact(c.opts.Broker) }
