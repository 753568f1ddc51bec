package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/proto"
)

// Defaults of MQTTOptions.
const (
	DefaultConnections = 8
	// DefaultWindow is the number of publishes a pooled connection may have
	// unacknowledged; a connection of one thing gets at most 8.
	DefaultWindow = 128
	// DefaultAckTimeout is how long a publish may wait for its PUBACK
	// before it counts as failed.
	DefaultAckTimeout = time.Minute
	connectTimeout    = 30 * time.Second
	// dialParallel bounds the connections being opened at once.
	dialParallel = 32
)

// MQTTOptions configures an MQTTPublisher.
type MQTTOptions struct {
	// Broker is the broker URL: mqtt:// or tcp:// for TCP, mqtts://, ssl://
	// or tls:// for TLS (with the system's roots), ws:// or wss://.
	Broker string
	// Username and Password authenticate every connection, when set: with
	// a pool, normally the fleet identity that may publish for any thing.
	Username string
	Password string
	// Connections is the size of the pool; 0 means DefaultConnections.
	Connections int
	// Things, when set, opens one connection per thing instead of a pool,
	// with the thing name as client id (for small fleets, against brokers
	// that admit anonymous devices).
	Things []string
	// Root and Format build the report topics of Things and the filter of
	// the replies; "" and 0 mean proto.RootAWS and JSON.
	Root   string
	Format proto.Format
	// Window bounds the unacknowledged publishes of a connection; 0 means
	// DefaultWindow.
	Window int
	// AckTimeout bounds the wait for a PUBACK; 0 means DefaultAckTimeout.
	AckTimeout time.Duration
	// CheckReplies subscribes to the replies to the reports and counts
	// them: with a pool, to every thing's replies on the first connection;
	// with a connection per thing, to its own.
	CheckReplies bool
	// ClientID prefixes the client ids of a pool ("-0", "-1", ...); ""
	// means "vigil-sim-" and the process id.
	ClientID string
	// Logger receives connection losses and the first rejections.
	Logger zerolog.Logger
}

// MQTTPublisher publishes reports at QoS 1 over a pool of connections, or
// one connection per thing. A thing's reports always go through the same
// connection, so they arrive in order. Each connection has at most Window
// publishes unacknowledged: Publish blocks until the oldest is confirmed,
// which paces the simulator to what the broker takes.
type MQTTPublisher struct {
	opts   MQTTOptions
	conns  []*conn
	byName map[string]*conn // topic -> connection, with a connection per thing
	log    zerolog.Logger

	published, acked, failed, accepted, rejected atomic.Int64

	mu       sync.Mutex
	settled  *sync.Cond
	pending  int64
	firstErr error
	lastCode string
	// rejection is the first rejection's reason.
	rejection string
}

var (
	_ Publisher = (*MQTTPublisher)(nil)
	_ Counter   = (*MQTTPublisher)(nil)
)

// conn is one MQTT connection and its unacknowledged publishes, oldest
// first.
type conn struct {
	client mqtt.Client
	mu     sync.Mutex
	tokens chan mqtt.Token
	done   chan struct{}
}

// DialMQTT opens the connections, and subscribes to the replies when asked
// to, before it returns.
func DialMQTT(ctx context.Context, o MQTTOptions) (*MQTTPublisher, error) {
	o, err := mqttDefaults(o)
	if err != nil {
		return nil, err
	}
	p := &MQTTPublisher{opts: o, log: o.Logger}
	p.settled = sync.NewCond(&p.mu)
	names := p.clientIDs()
	p.conns = make([]*conn, len(names))
	if err := p.dialAll(ctx, names); err != nil {
		p.Close()
		return nil, err
	}
	if len(o.Things) > 0 {
		p.byName = make(map[string]*conn, len(o.Things))
		for n, thing := range o.Things {
			p.byName[proto.ReportTopic{Root: o.Root, Thing: thing, Format: o.Format}.String()] = p.conns[n]
		}
	}
	return p, nil
}

func mqttDefaults(o MQTTOptions) (MQTTOptions, error) {
	u, err := url.Parse(o.Broker)
	if err != nil || u.Host == "" {
		return o, fmt.Errorf("broker URL %q: want scheme://host:port", o.Broker)
	}
	switch u.Scheme {
	case "mqtt", "tcp", "mqtts", "ssl", "tls", "tcps", "ws", "wss":
	default:
		return o, fmt.Errorf("broker URL %q: unknown scheme %q (want mqtt, mqtts, tcp, ssl, tls, ws or wss)", o.Broker, u.Scheme)
	}
	o.Connections = orDefault(o.Connections, DefaultConnections)
	o.Window = orDefault(o.Window, DefaultWindow)
	if len(o.Things) > 0 {
		o.Window = min(o.Window, 8)
	}
	o.AckTimeout = orDefault(o.AckTimeout, DefaultAckTimeout)
	o.Format = orDefault(o.Format, proto.JSON)
	if o.Root == "" {
		o.Root = proto.RootAWS
	}
	if o.ClientID == "" {
		o.ClientID = fmt.Sprintf("vigil-sim-%d", os.Getpid())
	}
	return o, nil
}

// clientIDs names the connections: the things, or the pool's members.
func (p *MQTTPublisher) clientIDs() []string {
	if len(p.opts.Things) > 0 {
		return p.opts.Things
	}
	ids := make([]string, p.opts.Connections)
	for n := range ids {
		ids[n] = fmt.Sprintf("%s-%d", p.opts.ClientID, n)
	}
	return ids
}

// dialAll opens every connection, a few at a time.
func (p *MQTTPublisher) dialAll(ctx context.Context, ids []string) error {
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for n, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			p.conns[n], errs[n] = p.dial(ctx, id, p.replyFilter(n))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err // the connections fail alike: one says why
		}
	}
	return nil
}

// replyFilter is the reply subscription of connection n, or "".
func (p *MQTTPublisher) replyFilter(n int) string {
	switch {
	case !p.opts.CheckReplies:
		return ""
	case len(p.opts.Things) > 0:
		return proto.ThingReplyFilter(p.opts.Root, p.opts.Things[n], p.opts.Format)
	case n == 0:
		return proto.ThingReplyFilter(p.opts.Root, "+", p.opts.Format)
	}
	return ""
}

// dial opens one connection and starts settling its publishes.
func (p *MQTTPublisher) dial(ctx context.Context, id, replies string) (*conn, error) {
	opts := mqtt.NewClientOptions().AddBroker(p.opts.Broker).SetClientID(id).
		SetUsername(p.opts.Username).SetPassword(p.opts.Password).
		SetCleanSession(true).SetOrderMatters(false).SetKeepAlive(30 * time.Second).
		SetConnectTimeout(connectTimeout).SetAutoReconnect(true).SetMaxReconnectInterval(10 * time.Second)
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		p.log.Warn().Err(err).Str("client_id", id).Msg("connection lost; reconnecting")
	})
	if replies != "" {
		opts.SetOnConnectHandler(func(cl mqtt.Client) { cl.Subscribe(replies, 1, p.onReply) })
	}
	c := &conn{client: mqtt.NewClient(opts), tokens: make(chan mqtt.Token, p.opts.Window), done: make(chan struct{})}
	if err := waitToken(ctx, c.client.Connect()); err != nil {
		return nil, fmt.Errorf("connect to %s as client %q, user %q: %w", p.opts.Broker, id, p.opts.Username, err)
	}
	if replies != "" {
		// The handler above subscribes on every connect; this one waits
		// for the first subscription to be in place.
		if err := waitToken(ctx, c.client.Subscribe(replies, 1, p.onReply)); err != nil {
			c.client.Disconnect(0)
			return nil, fmt.Errorf("subscribe to %s: %w", replies, err)
		}
	}
	go p.settle(c)
	return c, nil
}

func waitToken(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(connectTimeout):
		return errors.New("no answer from the broker")
	}
}

// Publish sends a report at QoS 1 through its thing's connection, first
// waiting while the connection has Window publishes unacknowledged.
func (p *MQTTPublisher) Publish(topic string, payload []byte) error {
	c, err := p.connFor(topic)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.pending++
	p.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens <- c.client.Publish(topic, 1, false, payload)
	p.published.Add(1)
	return nil
}

// connFor returns the connection of a topic's thing.
func (p *MQTTPublisher) connFor(topic string) (*conn, error) {
	if p.byName != nil {
		c, ok := p.byName[topic]
		if !ok {
			return nil, fmt.Errorf("no connection for topic %q", topic)
		}
		return c, nil
	}
	h := fnv.New32a()
	h.Write([]byte(topic))
	return p.conns[h.Sum32()%uint32(len(p.conns))], nil
}

// settle waits for the publishes of a connection, in order, and counts
// them.
func (p *MQTTPublisher) settle(c *conn) {
	defer close(c.done)
	for t := range c.tokens {
		err := errors.New("not acknowledged within " + p.opts.AckTimeout.String())
		if t.WaitTimeout(p.opts.AckTimeout) {
			err = t.Error()
		}
		p.mu.Lock()
		if err == nil {
			p.acked.Add(1)
		} else {
			p.failed.Add(1)
			if p.firstErr == nil {
				p.firstErr = err
			}
		}
		p.pending--
		if p.pending == 0 {
			p.settled.Broadcast()
		}
		p.mu.Unlock()
	}
}

// Flush waits until every publish so far is acknowledged or failed, and
// returns an error when some failed.
func (p *MQTTPublisher) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.pending > 0 {
		p.settled.Wait()
	}
	if n := p.failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d reports not acknowledged by the broker: %w", n, p.published.Load(), p.firstErr)
	}
	return nil
}

// onReply counts a reply to a report, and logs the reason of the first
// rejections and of every new error code.
func (p *MQTTPublisher) onReply(_ mqtt.Client, m mqtt.Message) {
	if strings.HasSuffix(m.Topic(), "/accepted") {
		p.accepted.Add(1)
		return
	}
	n := p.rejected.Add(1)
	reply, err := proto.DecodeReply(p.opts.Format, m.Payload())
	if err != nil || reply.StatusDetails == nil {
		return
	}
	d := reply.StatusDetails
	p.mu.Lock()
	fresh := string(d.ErrorCode) != p.lastCode
	p.lastCode = string(d.ErrorCode)
	if p.rejection == "" {
		p.rejection = fmt.Sprintf("%s: %s", d.ErrorCode, d.ErrorMessage)
	}
	p.mu.Unlock()
	if n <= 3 || fresh {
		p.log.Warn().Str("thing", reply.ThingName).Int64("report_id", reply.ReportID).Str("code", string(d.ErrorCode)).
			Str("reason", d.ErrorMessage).Msg("report rejected")
	}
}

// Counts returns what became of the publishes so far.
func (p *MQTTPublisher) Counts() Counts {
	return Counts{
		Published: p.published.Load(), Acknowledged: p.acked.Load(), Failed: p.failed.Load(),
		Accepted: p.accepted.Load(), Rejected: p.rejected.Load(),
	}
}

// Rejection returns the error code and reason of the first rejected
// report, or "" when none was rejected (or replies are not checked).
func (p *MQTTPublisher) Rejection() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rejection
}

// WaitReplies waits until there is a reply to every acknowledged report,
// no reply has come for quiet, or ctx ends, and returns the counts.
func (p *MQTTPublisher) WaitReplies(ctx context.Context, quiet time.Duration) Counts {
	last, lastAt := int64(-1), time.Now()
	for {
		c := p.Counts()
		got := c.Accepted + c.Rejected
		if got >= c.Acknowledged || ctx.Err() != nil {
			return c
		}
		if got != last {
			last, lastAt = got, time.Now()
		} else if time.Since(lastAt) >= quiet {
			return c
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close stops settling and disconnects, giving in-flight messages a
// moment; call Flush first to wait for them.
func (p *MQTTPublisher) Close() {
	for _, c := range p.conns {
		if c == nil {
			continue
		}
		c.mu.Lock()
		close(c.tokens)
		c.mu.Unlock()
		<-c.done
		c.client.Disconnect(250)
	}
}
