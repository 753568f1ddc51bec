package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// Defaults for Options.
const (
	// DefaultAddr is the TCP address the broker listens on.
	DefaultAddr = "127.0.0.1:1883"
	// DefaultMaxPacketSize is the largest MQTT packet accepted, in bytes:
	// room for a report of the largest size the contract allows, and its
	// topic.
	DefaultMaxPacketSize = 256 << 10
)

// Options configure a Broker. The zero value is a broker on DefaultAddr that
// refuses every client: set Auth, or AllowAnonymous.
type Options struct {
	// Addr is the TCP address to listen on; DefaultAddr when empty. A port
	// of 0 picks a free port: Addr tells which once the broker has started.
	Addr string
	// WebSocketAddr is the address of a WebSocket listener, served at any
	// path; "" for none. It must name a port.
	WebSocketAddr string
	// AllowAnonymous admits clients that send no password, as devices named
	// by their client id, unless the Authenticator knows that name.
	AllowAnonymous bool
	// Auth authenticates clients; nil admits anonymous clients only (when
	// AllowAnonymous is set).
	Auth Authenticator
	// Logger receives the broker's logs.
	Logger zerolog.Logger
	// TLSAddr is the address of an MQTT over TLS listener; "" for none. It
	// needs TLSConfig.
	TLSAddr string
	// TLSConfig holds the TLS listener's server certificate. Unless it sets
	// ClientAuth, clients are asked for a certificate, which they may
	// omit to log in with a password instead; a certificate they present
	// is checked by Certificates.
	TLSConfig *tls.Config
	// Certificates checks client certificates; nil refuses every client
	// that presents one.
	Certificates CertificateChecker
	// Quarantine tells which things are quarantined; nil means none is.
	Quarantine Quarantine
	// MaxPacketSize is the largest MQTT packet accepted, in bytes;
	// DefaultMaxPacketSize when 0. A client that sends a larger one is
	// disconnected.
	MaxPacketSize int
	// Reports, when set, takes every report a client may publish, on the
	// publishing client's goroutine before its acknowledgement, in place of
	// the topic's subscribers: reports are the detector's alone, so no
	// client receives another's reports, or its own, and a report costs
	// no lookup in the topic index. It may block to apply backpressure,
	// but not for ever, or Close waits for it. Will messages on report
	// topics still go to the topic's subscribers.
	Reports func(m Message)
	// Now is the clock of the connection records in Stats; nil means
	// time.Now.
	Now func() time.Time
}

// Broker is Vigil's embedded MQTT broker.
type Broker struct {
	server    *mqtt.Server
	hook      *hook
	opts      Options
	log       zerolog.Logger
	nextSubID atomic.Int64

	mu      sync.Mutex
	tcp     *listeners.Net // nil until started
	tls     *listeners.Net // nil until started, or without TLSAddr
	started bool
	closed  bool
}

// Message is a message delivered to an inline subscriber.
type Message struct {
	// Topic is the topic it was published to. It is a string of its own:
	// mochi's topic names share the memory of the whole packet, payload
	// included, so a thing name kept from one (a map key) would keep its
	// first report alive.
	Topic string
	// Payload is the message body. It is shared with the other subscribers:
	// a handler may keep it, but must not modify it.
	Payload []byte
	// ClientID is the client id of the publisher; "inline" for the broker.
	ClientID string
	// Thing is the identity of the publisher: its thing name, or for a
	// fleet identity the fleet's name (the thing a report is for is in the
	// topic). It is "" for the broker itself, and for a retained message
	// whose publisher has disconnected.
	Thing string
	// QoS is the quality of service the message was published at.
	QoS byte
	// Retain is set on a retained message: one published with the retain
	// flag, or replayed to a new subscription.
	Retain bool
}

// New returns a broker that is configured but not yet listening.
func New(opts Options) (*Broker, error) {
	if opts.MaxPacketSize < 0 {
		return nil, fmt.Errorf("broker: negative MaxPacketSize %d", opts.MaxPacketSize)
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.MaxPacketSize == 0 {
		opts.MaxPacketSize = DefaultMaxPacketSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger.With().Str("component", "broker").Logger()
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(opts.MaxPacketSize)
	server := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		InlineClient: true,
		Logger:       newSlogLogger(log),
	})
	h := &hook{identifier: identifier{auth: opts.Auth, allowAnonymous: opts.AllowAnonymous,
		certs: opts.Certificates, quarantine: opts.Quarantine}, log: log, reports: opts.Reports, now: opts.Now}
	if err := server.AddHook(h, nil); err != nil {
		return nil, fmt.Errorf("broker: add hook: %w", err)
	}
	return &Broker{server: server, hook: h, opts: opts, log: log}, nil
}

// Start opens the listeners and serves clients in the background. Inline
// subscriptions made before Start see every message from the first client.
// A broker whose Start failed is closed.
func (b *Broker) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.closed {
		return errors.New("broker: already started or closed")
	}
	b.started = true
	if err := b.listen(); err != nil {
		b.closeLocked()
		return err
	}
	if err := b.server.Serve(); err != nil {
		b.closeLocked()
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.log.Info().Str("addr", b.tcp.Address()).Str("tls", b.tlsAddrLocked()).Str("websocket", b.opts.WebSocketAddr).Msg("broker started")
	return nil
}

// listen adds the TCP listener, and the WebSocket one if configured.
func (b *Broker) listen() error {
	tcp, err := b.addListener("tcp", b.opts.Addr, nil)
	if err != nil {
		return fmt.Errorf("broker: listen on %s: %w", b.opts.Addr, err)
	}
	b.tcp = tcp
	if err := b.listenTLS(); err != nil {
		return err
	}
	if b.opts.WebSocketAddr == "" {
		return nil
	}
	if err := probe(b.opts.WebSocketAddr); err != nil {
		return fmt.Errorf("broker: websocket: %w", err)
	}
	ws := listeners.NewWebsocket(listeners.Config{ID: "ws", Address: b.opts.WebSocketAddr})
	if err := b.server.AddListener(ws); err != nil {
		return fmt.Errorf("broker: websocket on %s: %w", b.opts.WebSocketAddr, err)
	}
	return nil
}

// addListener listens on addr, over TLS when conf is set, and serves MQTT
// there. Its connections coalesce their writes (see coalescingConn).
func (b *Broker) addListener(id, addr string, conf *tls.Config) (*listeners.Net, error) {
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var l net.Listener = coalescingListener{raw}
	if conf != nil {
		l = tls.NewListener(l, conf)
	}
	nl := listeners.NewNet(id, l)
	if err := b.server.AddListener(nl); err != nil {
		raw.Close()
		return nil, err
	}
	return nl, nil
}

// probe checks that addr can be listened on. mochi's WebSocket listener
// binds its address only once serving, where a failure is logged, not
// returned: probing first turns the usual mistakes (a port in use, a bad
// address) into an error from Start.
func probe(addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" || port == "0" {
		return fmt.Errorf("address %q must name a port", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// Addr returns the TCP address the broker listens on: the actual port once
// started, the configured address before.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tcp != nil {
		return b.tcp.Address()
	}
	return b.opts.Addr
}

// Close disconnects every client and stops the listeners. It waits for the
// clients' goroutines, and so for the inline handlers they are running.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closeLocked()
}

// closeLocked closes the server once; b.mu is held.
func (b *Broker) closeLocked() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if err := b.server.Close(); err != nil {
		return fmt.Errorf("broker: close: %w", err)
	}
	return nil
}

// Subscribe delivers every message whose topic matches filter (an MQTT
// filter, wildcards allowed) to handler, in process, without the topic
// rules that apply to clients. Retained messages that match are delivered
// before Subscribe returns.
//
// The handler runs on the goroutine of the publishing client, before the
// broker reads that client's next packet, so a slow handler slows down that
// client only: it may block to apply backpressure, and no message is dropped
// meanwhile. It must not block for ever, or Close waits for it. For
// Publish, the handler runs on the caller's goroutine, so a handler that
// publishes to a topic its own filter matches recurses.
func (b *Broker) Subscribe(filter string, handler func(m Message)) error {
	id := int(b.nextSubID.Add(1))
	err := b.server.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		handler(b.message(pk))
	})
	if err != nil {
		return fmt.Errorf("broker: subscribe to %q: %w", filter, err)
	}
	return nil
}

// message turns a mochi packet into a Message.
func (b *Broker) message(pk packets.Packet) Message {
	return Message{
		Topic:    strings.Clone(pk.TopicName),
		Payload:  pk.Payload,
		ClientID: pk.Origin,
		Thing:    b.hook.thingOf(pk.Origin),
		QoS:      pk.FixedHeader.Qos,
		Retain:   pk.FixedHeader.Retain,
	}
}

// Publish sends a message from the broker itself, to any topic, without the
// topic rules that apply to clients. With retain set, the message replaces
// the topic's retained message, and an empty payload deletes it (subscribers
// that are there receive the empty message). qos is the highest quality of
// service the subscribers receive it at.
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	if qos > 2 {
		return fmt.Errorf("broker: publish to %q: invalid QoS %d", topic, qos)
	}
	if err := b.server.Publish(topic, payload, retain, qos); err != nil {
		return fmt.Errorf("broker: publish to %q: %w", topic, err)
	}
	return nil
}

// Disconnect closes the connection of a client, as for a thing that has
// been revoked or quarantined. It returns ErrNotConnected when no client of
// that id is connected. The client may connect again if it still
// authenticates.
func (b *Broker) Disconnect(clientID string) error {
	cl, ok := b.server.Clients.Get(clientID)
	if !ok || cl.Net.Inline || cl.Closed() {
		return fmt.Errorf("broker: disconnect %q: %w", clientID, ErrNotConnected)
	}
	code := packets.ErrAdministrativeAction
	if err := b.server.DisconnectClient(cl, code); err != nil && !errors.Is(err, code) {
		return fmt.Errorf("broker: disconnect %q: %w", clientID, err)
	}
	return nil
}

// Stats returns what the broker counted of a thing, or of a fleet or
// operator identity, since it started.
func (b *Broker) Stats(thing string) ThingStats {
	return b.hook.stats.read(thing, b.hook.dims.Load())
}

// EachStats calls fn with the counts of every thing and identity the broker
// has counted since it started, in no particular order. fn must not call
// the broker.
func (b *Broker) EachStats(fn func(thing string, s ThingStats)) {
	b.hook.sweepConns()
	b.hook.stats.each(b.hook.dims.Load(), false, fn)
}

// EachStatsRestartingSizes is EachStats, and then starts each thing's
// largest and smallest message sizes again from none: whoever calls it
// once per window gets the extremes of each window.
func (b *Broker) EachStatsRestartingSizes(fn func(thing string, s ThingStats)) {
	b.hook.sweepConns()
	b.hook.stats.each(b.hook.dims.Load(), true, fn)
}

// SetDimensions replaces the topic-filter dimensions the broker counts
// messages and authorization failures of (ThingStats.Dimensions). Counts
// of a dimension whose filters are unchanged go on; the others start from
// zero under a new generation. Matching costs each message a comparison
// with every filter, so count only the dimensions in use.
func (b *Broker) SetDimensions(dims []Dimension) error {
	for {
		old := b.hook.dims.Load()
		set, err := newDimSet(dims, old)
		if err != nil {
			return fmt.Errorf("broker: set dimensions: %w", err)
		}
		if b.hook.dims.CompareAndSwap(old, set) {
			return nil
		}
	}
}
