package broker

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// hook is the broker's mochi hook: it authenticates clients, applies the
// topic rules, and counts attempts and failures per thing.
type hook struct {
	mqtt.HookBase
	identifier
	log      zerolog.Logger
	stats    statsTable
	sessions sync.Map // client id -> *session
	reports  func(m Message)
	// conns holds the session of each admitted connection, from its
	// authentication to its disconnect, whatever connection took its client
	// id meanwhile.
	conns sync.Map // *mqtt.Client -> *session
	// now is the clock of connection records.
	now func() time.Time
	// dims is the topic-filter dimensions being counted.
	dims atomic.Pointer[dimSet]
	// replySubscribed is set once a subscription that could match a reply
	// topic has been granted (see MayHaveSubscribers).
	replySubscribed atomic.Bool
}

var _ mqtt.Hook = (*hook)(nil)

// ID names the hook in mochi's logs.
func (h *hook) ID() string {
	return "vigil-identity"
}

// Provides declares the events the hook handles.
func (h *hook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnectAuthenticate, mqtt.OnSessionEstablished, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnWill, mqtt.OnDisconnect,
		mqtt.OnPacketSent, mqtt.OnSubscribed:
		return true
	}
	return false
}

// OnConnectAuthenticate admits or refuses a connecting client. A refused
// client gets CONNACK "not authorized" (MQTT 3.1.1) or "bad username or
// password" (MQTT 5).
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	s, name, err := h.identify(pk.Connect, peerCertificate(cl))
	if err == nil && pk.Connect.WillFlag && !s.canPublish(pk.Connect.WillTopic) {
		err = errWillForbidden
	}
	if name != "" {
		c := h.stats.of(name)
		c.attempts.Add(1)
		if err != nil {
			c.failures.Add(1)
		}
	}
	if err != nil {
		h.logRefusal(pk.Connect, err)
		return false
	}
	s.cl = cl
	s.stats = h.stats.of(s.Thing)
	h.sessions.Store(cl.ID, s)
	h.conns.Store(cl, s)
	return true
}

// OnSessionEstablished records the start of a connection, once the client
// has its CONNACK: from then on, OnDisconnect is sure to follow.
func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if v, ok := h.conns.Load(cl); ok {
		s := v.(*session)
		s.stats.connected(cl, s.Role, h.now())
	}
}

// logRefusal logs a refused connection: at debug level for the expected
// reasons, as a warning when the Authenticator itself failed.
func (h *hook) logRefusal(c packets.ConnectParams, err error) {
	ev := h.log.Debug()
	if errors.Is(err, errAuthenticator) {
		ev = h.log.Warn()
	}
	ev.Err(err).Str("client", c.ClientIdentifier).Str("username", string(c.Username)).Msg("connection refused")
}

// OnACLCheck decides subscriptions and deliveries. Publishes are allowed
// here and decided in OnPublish, after topic aliases are resolved, so that a
// denied QoS 1 publish is dropped rather than costing the client its
// connection.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		return true
	}
	s := h.session(cl)
	if s != nil && s.canRead(topic) {
		return true
	}
	h.deny(cl, s, topic, "read")
	return false
}

// OnPublish drops the publishes of clients to topics they may not publish
// to (they are acknowledged, and delivered to nobody), and clears the retain
// flag of the others: reports are not kept for later subscribers.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	s := h.session(cl)
	if s != nil {
		h.countSent(s, cl.ID, pk)
	}
	if s == nil || !s.canPublish(pk.TopicName) {
		h.deny(cl, s, pk.TopicName, "publish")
		return pk, packets.CodeSuccessIgnore
	}
	if h.reports != nil {
		// Handed over here, the report skips the topic index: it is
		// acknowledged and delivered to no subscriber.
		h.reports(Message{Topic: strings.Clone(pk.TopicName), Payload: pk.Payload, ClientID: cl.ID, Thing: s.Thing, QoS: pk.FixedHeader.Qos})
		return acknowledgeReport(cl, pk)
	}
	pk.FixedHeader.Retain = false
	return pk, nil
}

// acknowledgeReport acknowledges a report handed to the detector and has
// mochi do nothing more with it: the packet it returns is marked ignored
// (delivered to nobody) and, once a report at QoS 1 is acknowledged here,
// downgraded to QoS 0 so that mochi does not acknowledge it again. mochi's
// own acknowledgement would first record the PUBACK among the client's
// messages in flight and delete it at once, and rejecting the packet
// instead would box it for a debug log: either way some 900 bytes of
// garbage per report. A report at QoS 2 takes mochi's usual exchange
// (PUBREC, PUBREL, PUBCOMP), which needs that record.
func acknowledgeReport(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Qos {
	case 1:
		// A failed write means the connection is gone; the client's reader
		// finds that out on its next read.
		_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
		fallthrough
	case 0:
		pk.FixedHeader.Qos, pk.FixedHeader.Retain, pk.Ignore = 0, false, true
		return pk, nil
	}
	return pk, packets.CodeSuccessIgnore
}

// OnWill clears the retain flag of a will, as OnPublish does for a publish.
// Its topic was checked when the client connected. A will is routed to
// the topic's subscribers even when Options.Reports is set, since it may
// be delayed, or cancelled by the client's return.
func (h *hook) OnWill(_ *mqtt.Client, will mqtt.Will) (mqtt.Will, error) {
	will.Retain = false
	return will, nil
}

// OnDisconnect counts the end of a connection, and forgets the session of
// the client unless a new connection with the same client id has already
// replaced it.
func (h *hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	if v, ok := h.conns.LoadAndDelete(cl); ok {
		v.(*session).stats.disconnected(cl, h.now())
	}
	if s := h.session(cl); s != nil {
		h.sessions.CompareAndDelete(cl.ID, s)
	}
}

// OnPacketSent counts the messages a thing receives from the broker.
func (h *hook) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if pk.FixedHeader.Type != packets.Publish || cl.Net.Inline {
		return
	}
	if s := h.session(cl); s != nil {
		s.stats.received.Add(1)
		s.stats.countMessage(h.dims.Load(), pk.TopicName, cl.ID, false, 0)
	}
}

// session returns the session of a connected client, or nil when it has
// none (or its client id now belongs to a newer connection).
func (h *hook) session(cl *mqtt.Client) *session {
	v, ok := h.sessions.Load(cl.ID)
	if !ok || v.(*session).cl != cl {
		return nil
	}
	return v.(*session)
}

// thingOf returns the identity name of the client that published a
// message, or "" for the broker itself or a client that has gone.
func (h *hook) thingOf(clientID string) string {
	if v, ok := h.sessions.Load(clientID); ok {
		return v.(*session).Thing
	}
	return ""
}

// deny counts and logs a publish or subscription the topic rules refused.
func (h *hook) deny(cl *mqtt.Client, s *session, topic, action string) {
	thing := ""
	if s != nil {
		thing = s.Thing
		s.stats.failures.Add(1)
		s.stats.countFailure(h.dims.Load(), topic, cl.ID)
	}
	h.log.Debug().Str("client", cl.ID).Str("thing", thing).Str("action", action).Str("topic", topic).Msg("denied")
}
