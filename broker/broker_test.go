package broker_test

import (
	"bytes"
	"cmp"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/vigil-iot/vigil/broker"
	"github.com/vigil-iot/vigil/proto"
)

// wait bounds every wait for the network.
const wait = 5 * time.Second

// memAuth is an Authenticator over a map of names to bcrypt hashes.
type memAuth struct {
	things map[string]memThing
}

type memThing struct {
	hash []byte
	role broker.Role
}

var _ broker.Authenticator = (*memAuth)(nil)

func (a *memAuth) Authenticate(clientID, username string, password []byte) (broker.Identity, error) {
	name := cmp.Or(username, clientID)
	t, ok := a.things[name]
	if !ok {
		return broker.Identity{}, broker.ErrUnknownThing
	}
	if bcrypt.CompareHashAndPassword(t.hash, password) != nil {
		return broker.Identity{}, broker.ErrBadCredentials
	}
	return broker.Identity{Thing: name, Role: t.role}, nil
}

// The registered identities: name, password, role.
var registered = []struct {
	name, password string
	role           broker.Role
}{
	{"d1", "pw1", broker.RoleDevice},
	{"d2", "pw2", broker.RoleDevice},
	{"fleet", "fleet-pw", broker.RoleFleet},
	{"ops", "ops-pw", broker.RoleOperator},
}

var (
	authOnce sync.Once
	auth     *memAuth
)

// testAuth returns the Authenticator of the registered identities.
func testAuth(t testing.TB) *memAuth {
	authOnce.Do(func() {
		auth = &memAuth{things: map[string]memThing{}}
		for _, r := range registered {
			hash, err := bcrypt.GenerateFromPassword([]byte(r.password), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			auth.things[r.name] = memThing{hash: hash, role: r.role}
		}
	})
	return auth
}

// start runs a broker on a free loopback port for the test.
func start(t testing.TB, opts broker.Options) *broker.Broker {
	t.Helper()
	opts.Addr = cmp.Or(opts.Addr, "127.0.0.1:0")
	b, err := broker.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// client is how a test client connects.
type client struct {
	id, username, password string
	configure              func(*paho.ClientOptions)
}

// The clients of the tests, one per kind of identity.
var (
	deviceD1  = client{id: "d1", username: "d1", password: "pw1"}
	fleetSim  = client{id: "sim-1", username: "fleet", password: "fleet-pw"}
	operator  = client{id: "console", username: "ops", password: "ops-pw"}
	anonymous = client{id: "a1"}
)

// dial connects a paho client over TCP; it is disconnected when the test ends.
func dial(t testing.TB, url string, c client) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(c.id).
		SetUsername(c.username).SetPassword(c.password).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(wait).
		SetProtocolVersion(4)
	if c.configure != nil {
		c.configure(opts)
	}
	pc := paho.NewClient(opts)
	tok := pc.Connect()
	if !tok.WaitTimeout(wait) {
		t.Fatalf("connect %s: timed out", c.id)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { pc.Disconnect(0) })
	return pc, nil
}

// mustDial connects a client that must be admitted.
func mustDial(t testing.TB, b *broker.Broker, c client) paho.Client {
	t.Helper()
	pc, err := dial(t, "tcp://"+b.Addr(), c)
	if err != nil {
		t.Fatalf("connect %s: %v", c.id, err)
	}
	return pc
}

// done waits for a token and fails the test on an error.
func done(t testing.TB, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(wait) {
		t.Fatal("timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

// barrier returns once the broker has processed every packet the client
// sent before it: the broker handles a client's packets in order, and
// answers an UNSUBSCRIBE only after the packets before it.
func barrier(t testing.TB, pc paho.Client) {
	t.Helper()
	done(t, pc.Unsubscribe("barrier"))
}

// inbox collects the messages of an inline subscription.
type inbox chan broker.Message

func subscribe(t testing.TB, b *broker.Broker, filter string) inbox {
	t.Helper()
	in := make(inbox, 64)
	if err := b.Subscribe(filter, func(m broker.Message) { in <- m }); err != nil {
		t.Fatal(err)
	}
	return in
}

// take returns the messages received so far.
func (in inbox) take() []broker.Message {
	var ms []broker.Message
	for {
		select {
		case m := <-in:
			ms = append(ms, m)
		default:
			return ms
		}
	}
}

// subscribeTCP subscribes a paho client and returns its granted QoS (0x80
// when refused) and a channel of the messages it receives.
func subscribeTCP(t testing.TB, pc paho.Client, filter string) (byte, <-chan paho.Message) {
	t.Helper()
	ch := make(chan paho.Message, 16)
	tok := pc.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { ch <- m })
	done(t, tok)
	return tok.(*paho.SubscribeToken).Result()[filter], ch
}

// receive waits for a message on ch.
func receive(t testing.TB, ch <-chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(wait):
		t.Fatal("no message")
		return nil
	}
}

func TestConnect(t *testing.T) {
	withWill := func(topic string) func(*paho.ClientOptions) {
		return func(o *paho.ClientOptions) { o.SetWill(topic, "gone", 1, false) }
	}
	tests := []struct {
		name      string
		anonymous bool
		c         client
		ok        bool
	}{
		{"right password", false, deviceD1, true},
		{"wrong password", false, client{id: "d1", username: "d1", password: "pw2"}, false},
		{"no password for a registered thing", false, client{id: "d1", username: "d1"}, false},
		{"unknown thing", false, client{id: "d9", username: "d9", password: "pw1"}, false},
		{"client id is not the thing", false, client{id: "d2", username: "d1", password: "pw1"}, false},
		{"fleet with its own client id", false, fleetSim, true},
		{"operator with its own client id", false, operator, true},
		{"anonymous not allowed", false, anonymous, false},
		{"anonymous allowed", true, anonymous, true},
		{"anonymous with username of its client id", true, client{id: "a1", username: "a1"}, true},
		{"anonymous with another username", true, client{id: "a1", username: "a2"}, false},
		{"anonymous with a password", true, client{id: "a1", username: "a1", password: "x"}, false},
		{"anonymous as a registered thing", true, client{id: "d1"}, false},
		{"registered thing while anonymous allowed", true, deviceD1, true},
		{"reserved client id", true, client{id: "inline"}, false},
		{"client id with a slash", true, client{id: "a/b"}, false},
		{"client id with a wildcard", true, client{id: "a+"}, false},
		{"will on own report topic", false, client{id: "d1", username: "d1", password: "pw1",
			configure: withWill("$vigil/things/d1/defender/metrics/json")}, true},
		{"will on a violation topic", false, client{id: "d1", username: "d1", password: "pw1",
			configure: withWill("$vigil/violations/p/d1")}, false},
		{"will on another thing's topic", true, client{id: "a1",
			configure: withWill("$vigil/things/d1/defender/metrics/json")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := start(t, broker.Options{Auth: testAuth(t), AllowAnonymous: tt.anonymous})
			_, err := dial(t, "tcp://"+b.Addr(), tt.c)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && err == nil {
				t.Fatal("admitted")
			}
		})
	}
}

func TestConnectWithoutAuthenticator(t *testing.T) {
	b := start(t, broker.Options{AllowAnonymous: true})
	mustDial(t, b, anonymous)
	if _, err := dial(t, "tcp://"+b.Addr(), deviceD1); err == nil {
		t.Error("a password that cannot be checked was accepted")
	}
	closed := start(t, broker.Options{})
	if _, err := dial(t, "tcp://"+closed.Addr(), anonymous); err == nil {
		t.Error("the zero Options admitted an anonymous client")
	}
}

// TestPublishRules publishes each topic at QoS 1 and checks what an inline
// subscriber to everything under $vigil and $aws gets.
func TestPublishRules(t *testing.T) {
	tests := []struct {
		name      string
		c         client
		topic     string
		delivered bool
		thing     string
	}{
		{"device own report", deviceD1, "$vigil/things/d1/defender/metrics/json", true, "d1"},
		{"device own report on aws root", deviceD1, "$aws/things/d1/defender/metrics/cbor", true, "d1"},
		{"device report of another thing", deviceD1, "$vigil/things/d2/defender/metrics/json", false, ""},
		{"device violation", deviceD1, "$vigil/violations/p/d1", false, ""},
		{"device active violation", deviceD1, "$vigil/active-violations/p/d1/b", false, ""},
		{"device accepted reply", deviceD1, "$vigil/things/d1/defender/metrics/json/accepted", false, ""},
		{"device rejected reply", deviceD1, "$aws/things/d1/defender/metrics/json/rejected", false, ""},
		{"fleet report of any thing", fleetSim, "$vigil/things/d2/defender/metrics/msgpack", true, "fleet"},
		{"fleet reply", fleetSim, "$vigil/things/d2/defender/metrics/json/accepted", false, ""},
		{"operator violation", operator, "$vigil/violations/p/d1", false, ""},
		{"anonymous own report", anonymous, "$vigil/things/a1/defender/metrics/json", true, "a1"},
		{"anonymous violation", anonymous, "$vigil/violations/p/a1", false, ""},
	}
	b := start(t, broker.Options{Auth: testAuth(t), AllowAnonymous: true})
	in := subscribe(t, b, "$vigil/#")
	aws := subscribe(t, b, "$aws/#")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := mustDial(t, b, tt.c)
			thing := cmp.Or(tt.c.username, tt.c.id)
			before := b.Stats(thing).AuthorizationFailures
			done(t, pc.Publish(tt.topic, 1, false, "report"))
			barrier(t, pc)
			got := append(in.take(), aws.take()...)
			if !tt.delivered {
				if len(got) != 0 {
					t.Fatalf("delivered %+v", got)
				}
				if n := b.Stats(thing).AuthorizationFailures; n != before+1 {
					t.Errorf("%s has %d authorization failures, want %d", thing, n, before+1)
				}
				return
			}
			want := broker.Message{Topic: tt.topic, Payload: []byte("report"), ClientID: tt.c.id, Thing: tt.thing, QoS: 1}
			if len(got) != 1 || !equal(got[0], want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func equal(a, b broker.Message) bool {
	return a.Topic == b.Topic && string(a.Payload) == string(b.Payload) && a.ClientID == b.ClientID &&
		a.Thing == b.Thing && a.QoS == b.QoS && a.Retain == b.Retain
}

func TestSubscribeRules(t *testing.T) {
	const denied = 0x80
	tests := []struct {
		name    string
		c       client
		filter  string
		granted bool
	}{
		{"device own replies", deviceD1, "$vigil/things/d1/defender/metrics/json/+", true},
		{"device own subtree", deviceD1, "$aws/things/d1/defender/metrics/#", true},
		{"device another thing", deviceD1, "$vigil/things/d2/defender/metrics/json/+", false},
		{"device every thing", deviceD1, "$vigil/things/+/defender/metrics/json/+", false},
		{"device violations", deviceD1, "$vigil/violations/#", false},
		{"device everything", deviceD1, "#", false},
		{"fleet every reply", fleetSim, "$vigil/things/+/defender/metrics/+/+", true},
		{"fleet violations", fleetSim, "$vigil/violations/#", false},
		{"operator violations", operator, "$vigil/violations/#", true},
		{"operator active violations", operator, "$vigil/active-violations/#", true},
		{"operator sys", operator, "$SYS/#", true},
		{"operator reports", operator, "$vigil/things/+/defender/metrics/+", false},
		{"anonymous violations", anonymous, "$vigil/violations/#", true},
		{"anonymous sys", anonymous, "$SYS/#", false},
	}
	b := start(t, broker.Options{Auth: testAuth(t), AllowAnonymous: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := mustDial(t, b, tt.c)
			code, _ := subscribeTCP(t, pc, tt.filter)
			if granted := code != denied; granted != tt.granted {
				t.Errorf("SUBACK code %#x, want granted = %v", code, tt.granted)
			}
		})
	}
}

func TestStats(t *testing.T) {
	b := start(t, broker.Options{Auth: testAuth(t)})
	for _, pw := range []string{"wrong", "pw2"} {
		if _, err := dial(t, "tcp://"+b.Addr(), client{id: "d1", username: "d1", password: pw}); err == nil {
			t.Fatal("wrong password admitted")
		}
	}
	if _, err := dial(t, "tcp://"+b.Addr(), client{id: "nobody", password: "x", username: "nobody"}); err == nil {
		t.Fatal("unknown thing admitted")
	}
	pc := mustDial(t, b, deviceD1)
	done(t, pc.Publish("$vigil/things/d2/defender/metrics/json", 1, false, "x"))
	subscribeTCP(t, pc, "$vigil/violations/#")
	barrier(t, pc)

	if got := b.Stats("d1"); got.ConnectionAttempts != 3 || got.AuthorizationFailures != 4 {
		t.Errorf("Stats(d1) = %+v, want 3 connection attempts and 4 authorization failures", got)
	}
	// Names the Authenticator does not know are not counted.
	if got := b.Stats("nobody"); !reflect.DeepEqual(got, broker.ThingStats{}) {
		t.Errorf("Stats(nobody) = %+v, want zero", got)
	}
}

func TestInlineSubscribeGetsReport(t *testing.T) {
	b := start(t, broker.Options{Auth: testAuth(t)})
	in := subscribe(t, b, proto.ReportFilter(proto.RootVigil))
	pc := mustDial(t, b, deviceD1)
	topic := proto.ReportTopic{Root: proto.RootVigil, Thing: "d1", Format: proto.JSON}.String()
	// The retain flag of a report is dropped: it is delivered, not kept.
	done(t, pc.Publish(topic, 1, true, `{"header":{}}`))
	barrier(t, pc)
	want := broker.Message{Topic: topic, Payload: []byte(`{"header":{}}`), ClientID: "d1", Thing: "d1", QoS: 1}
	if got := in.take(); len(got) != 1 || !equal(got[0], want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if late := subscribe(t, b, topic).take(); len(late) != 0 {
		t.Errorf("a late subscriber got %+v", late)
	}
}

// TestReportsHandler checks that, with Options.Reports, reports go to the
// handler alone: with their publisher's identity, acknowledged, and to no
// subscriber, not even their own device; refused publishes never reach it.
func TestReportsHandler(t *testing.T) {
	got := make(chan broker.Message, 16)
	b := start(t, broker.Options{Auth: testAuth(t), Reports: func(m broker.Message) { got <- m }})
	inline := subscribe(t, b, proto.ReportFilter(proto.RootVigil))
	pc := mustDial(t, b, deviceD1)
	_, echo := subscribeTCP(t, pc, "$vigil/things/d1/defender/metrics/#")
	own := proto.ReportTopic{Root: proto.RootVigil, Thing: "d1", Format: proto.JSON}.String()
	other := proto.ReportTopic{Root: proto.RootVigil, Thing: "d2", Format: proto.JSON}.String()
	done(t, pc.Publish(own, 1, false, `{"header":{}}`))
	done(t, pc.Publish(other, 1, false, `{"header":{}}`)) // not its own: refused
	barrier(t, pc)
	want := broker.Message{Topic: own, Payload: []byte(`{"header":{}}`), ClientID: "d1", Thing: "d1", QoS: 1}
	select {
	case m := <-got:
		if !equal(m, want) {
			t.Fatalf("handler got %+v, want %+v", m, want)
		}
	default:
		t.Fatal("the handler got no report")
	}
	if len(got) != 0 {
		t.Errorf("the handler got a refused report: %+v", <-got)
	}
	if ms := inline.take(); len(ms) != 0 {
		t.Errorf("an inline subscriber got %+v", ms)
	}
	select {
	case m := <-echo:
		t.Errorf("the device got a report back on %s", m.Topic())
	case <-time.After(100 * time.Millisecond):
	}
}

func TestInlinePublishReachesDevice(t *testing.T) {
	b := start(t, broker.Options{Auth: testAuth(t)})
	pc := mustDial(t, b, deviceD1)
	report := proto.ReportTopic{Root: proto.RootAWS, Thing: "d1", Format: proto.CBOR}
	code, ch := subscribeTCP(t, pc, proto.ThingReplyFilter(report.Root, report.Thing, report.Format))
	if code != 1 {
		t.Fatalf("SUBACK code %#x", code)
	}
	reply := report.ReplyTopic(proto.Accepted).String()
	if err := b.Publish(reply, []byte("ok"), false, 1); err != nil {
		t.Fatal(err)
	}
	m := receive(t, ch)
	if m.Topic() != reply || string(m.Payload()) != "ok" || m.Qos() != 1 {
		t.Errorf("got %s %q at QoS %d", m.Topic(), m.Payload(), m.Qos())
	}
}

func TestRetainedInlinePublish(t *testing.T) {
	b := start(t, broker.Options{Auth: testAuth(t)})
	topic := proto.ActiveViolationTopic("p", "d1", "b")
	if err := b.Publish(topic, []byte(`{"violationId":"1"}`), true, 1); err != nil {
		t.Fatal(err)
	}

	// Late subscribers get the retained message: inline ones before
	// Subscribe returns, TCP ones after their SUBACK.
	want := broker.Message{Topic: topic, Payload: []byte(`{"violationId":"1"}`), ClientID: "inline", QoS: 1, Retain: true}
	if got := subscribe(t, b, proto.ActiveViolationsRoot+"/#").take(); len(got) != 1 || !equal(got[0], want) {
		t.Fatalf("late inline subscriber got %+v, want %+v", got, want)
	}
	pc := mustDial(t, b, operator)
	_, ch := subscribeTCP(t, pc, proto.ActiveViolationsRoot+"/#")
	if m := receive(t, ch); m.Topic() != topic || !m.Retained() || string(m.Payload()) != `{"violationId":"1"}` {
		t.Fatalf("late TCP subscriber got %s %q retained=%v", m.Topic(), m.Payload(), m.Retained())
	}

	// An empty retained message deletes it, and reaches the subscribers there.
	if err := b.Publish(topic, nil, true, 1); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, ch); m.Topic() != topic || len(m.Payload()) != 0 {
		t.Fatalf("subscriber got %s %q, want the empty message", m.Topic(), m.Payload())
	}
	if got := subscribe(t, b, proto.ActiveViolationsRoot+"/#").take(); len(got) != 0 {
		t.Fatalf("deleted retained message still delivered: %+v", got)
	}
}

func TestPublishErrors(t *testing.T) {
	b := start(t, broker.Options{})
	for _, topic := range []string{"", "a/+", "a/#"} {
		if err := b.Publish(topic, nil, false, 0); err == nil {
			t.Errorf("Publish(%q) succeeded", topic)
		}
	}
	if err := b.Publish("a", nil, false, 3); err == nil {
		t.Error("Publish at QoS 3 succeeded")
	}
	if err := b.Subscribe("a/#/b", func(broker.Message) {}); err == nil {
		t.Error("Subscribe to an invalid filter succeeded")
	}
}

func TestDisconnect(t *testing.T) {
	b := start(t, broker.Options{Auth: testAuth(t)})
	lost := make(chan error, 1)
	mustDial(t, b, client{id: "d1", username: "d1", password: "pw1", configure: func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	}})
	if err := b.Disconnect("d1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(wait):
		t.Fatal("the client is still connected")
	}
	for _, id := range []string{"d1", "d2", "inline"} {
		if err := b.Disconnect(id); !errors.Is(err, broker.ErrNotConnected) {
			t.Errorf("Disconnect(%q) = %v, want ErrNotConnected", id, err)
		}
	}
}

func TestWebSocket(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b := start(t, broker.Options{Auth: testAuth(t), WebSocketAddr: addr})
	in := subscribe(t, b, proto.ReportFilter(proto.RootVigil))
	pc, err := dial(t, "ws://"+addr+"/mqtt", deviceD1)
	if err != nil {
		t.Fatal(err)
	}
	done(t, pc.Publish("$vigil/things/d1/defender/metrics/json", 1, false, "r"))
	barrier(t, pc)
	if got := in.take(); len(got) != 1 || got[0].Thing != "d1" {
		t.Fatalf("got %+v", got)
	}
}

func TestStartErrors(t *testing.T) {
	b := start(t, broker.Options{})
	taken := b.Addr()
	for name, opts := range map[string]broker.Options{
		"tcp address in use":       {Addr: taken},
		"websocket address in use": {Addr: "127.0.0.1:0", WebSocketAddr: taken},
		"websocket without a port": {Addr: "127.0.0.1:0", WebSocketAddr: "127.0.0.1:0"},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := broker.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Start(); err == nil {
				t.Error("started")
			}
			if err := b.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	if err := b.Start(); err == nil {
		t.Error("a second Start succeeded")
	}
	if _, err := broker.New(broker.Options{MaxPacketSize: -1}); err == nil {
		t.Error("a negative MaxPacketSize was accepted")
	}
}

// authFunc is an Authenticator made of a function.
type authFunc func(clientID, username string, password []byte) (broker.Identity, error)

func (f authFunc) Authenticate(clientID, username string, password []byte) (broker.Identity, error) {
	return f(clientID, username, password)
}

func TestAuthenticatorFailure(t *testing.T) {
	var logs syncBuffer
	failing := authFunc(func(string, string, []byte) (broker.Identity, error) {
		return broker.Identity{}, errors.New("registry unavailable")
	})
	b := start(t, broker.Options{Auth: failing, AllowAnonymous: true, Logger: zerolog.New(&logs).Level(zerolog.WarnLevel)})
	if _, err := dial(t, "tcp://"+b.Addr(), deviceD1); err == nil {
		t.Fatal("admitted while the Authenticator fails")
	}
	if _, err := dial(t, "tcp://"+b.Addr(), anonymous); err == nil {
		t.Fatal("admitted as anonymous while the Authenticator fails")
	}
	if !strings.Contains(logs.String(), "registry unavailable") {
		t.Errorf("the failure was not logged as a warning:\n%s", logs.String())
	}
	if got := b.Stats("d1"); !reflect.DeepEqual(got, broker.ThingStats{ConnectionAttempts: 1, AuthorizationFailures: 1}) {
		t.Errorf("Stats(d1) = %+v", got)
	}
}

// syncBuffer is a bytes.Buffer that the broker's goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMayHaveSubscribers(t *testing.T) {
	b := start(t, broker.Options{Auth: testAuth(t), Reports: func(broker.Message) {}})
	accepted := proto.ReportTopic{Root: proto.RootVigil, Thing: "d1", Format: proto.JSON, Reply: proto.AcceptedTopic}.String()
	report := proto.ReportTopic{Root: proto.RootVigil, Thing: "d1", Format: proto.JSON}.String()
	check := func(when string, topic string, want bool) {
		t.Helper()
		if got := b.MayHaveSubscribers(topic); got != want {
			t.Errorf("%s: MayHaveSubscribers(%q) = %v, want %v", when, topic, got, want)
		}
	}
	check("at start", accepted, false)
	check("at start", report, true)
	check("at start", "sensors/x", true)
	subscribe(t, b, proto.ReportFilter(proto.RootVigil)) // reports only
	check("after an inline subscription to reports", accepted, false)
	pc := mustDial(t, b, deviceD1)
	if code, _ := subscribeTCP(t, pc, "$vigil/things/d2/defender/metrics/json/+"); code != 0x80 {
		t.Fatalf("d1 may read d2's replies: code %#x", code)
	}
	check("after a refused subscription", accepted, false)
	_, replies := subscribeTCP(t, pc, proto.ThingReplyFilter(proto.RootVigil, "d1", proto.JSON))
	check("after the device subscribed to its replies", accepted, true)
	if err := b.Publish(accepted, []byte("ok"), false, 1); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, replies); string(m.Payload()) != "ok" {
		t.Errorf("device got %q", m.Payload())
	}
}

func TestReportsAcknowledgedAtEveryQoS(t *testing.T) {
	got := make(chan broker.Message, 16)
	b := start(t, broker.Options{Auth: testAuth(t), Reports: func(m broker.Message) { got <- m }})
	for _, version := range []uint{3, 4} {
		c := deviceD1
		c.configure = func(o *paho.ClientOptions) { o.SetProtocolVersion(version) }
		pc := mustDial(t, b, c)
		topic := proto.ReportTopic{Root: proto.RootVigil, Thing: "d1", Format: proto.JSON}.String()
		for qos := byte(0); qos <= 2; qos++ {
			for range 3 {
				done(t, pc.Publish(topic, qos, false, `{"header":{}}`)) // QoS 1 and 2 wait for the broker's answer
			}
			barrier(t, pc)
			for range 3 {
				select {
				case m := <-got:
					if m.QoS != qos {
						t.Errorf("MQTT %d: handed over at QoS %d, want %d", version, m.QoS, qos)
					}
				default:
					t.Fatalf("MQTT %d, QoS %d: a report was not handed over", version, qos)
				}
			}
		}
		pc.Disconnect(0)
	}
}
