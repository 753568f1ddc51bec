package broker

import (
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/vigil-iot/vigil/proto"
)

// The detector answers every report on the thing's reply topic, but a
// device that does not subscribe to it (many do not) never sees the
// answer: making and routing it is then a tenth of the work a report
// costs. The broker notes whether any subscription granted since it
// started could match a reply topic, so that replies nobody can receive
// are not made at all. The note is never taken back: it stays set after
// the subscriber leaves, which costs work but loses no reply.

// MayHaveSubscribers reports whether a message published to topic could
// reach a subscriber. It answers false only for a reply topic
// (.../accepted, .../rejected) when no subscription granted since the
// broker started, a client's or an inline one, matches any reply topic;
// true otherwise.
func (b *Broker) MayHaveSubscribers(topic string) bool {
	if b.hook.replySubscribed.Load() || len(topic) == 0 || topic[0] != '$' {
		return true
	}
	t, err := proto.ParseReportTopic(topic)
	return err != nil || t.Reply == proto.NoReply
}

// OnSubscribed notes a granted subscription whose filter could match a
// reply topic.
func (h *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	if h.replySubscribed.Load() {
		return
	}
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] >= 0x80 {
			continue // refused
		}
		if mayMatchReply(f.Filter, cl.Net.Inline) {
			h.replySubscribed.Store(true)
			return
		}
	}
}

// sharePrefix starts a shared subscription's filter, in any case.
const sharePrefix = "$share"

// mayMatchReply reports whether filter matches the reply topic of some
// thing's report: {root}/things/{thing}/defender/metrics/{format}/{status}.
// A wildcard at the first level matches no $ topic for a client, but mochi
// does not apply that rule to inline or shared subscriptions.
func mayMatchReply(filter string, inline bool) bool {
	shared := false
	if len(filter) > len(sharePrefix) && strings.EqualFold(filter[:len(sharePrefix)+1], sharePrefix+"/") {
		_, filter, _ = strings.Cut(filter[len(sharePrefix)+1:], "/") // $share/{group}/{filter}
		shared = true
	}
	if filter == "" {
		return false
	}
	if filter[0] == '+' || filter[0] == '#' {
		return inline || shared // mochi applies the $ rule to neither
	}
	levels := compileFilter(filter)
	thing := "t"
	if len(levels) > 2 && levels[2].kind == literalLevel {
		thing = levels[2].text
	}
	for _, root := range []string{proto.RootVigil, proto.RootAWS} {
		for _, format := range proto.Formats {
			for _, status := range []proto.ReplyKind{proto.AcceptedTopic, proto.RejectedTopic} {
				topic := proto.ReportTopic{Root: root, Thing: thing, Format: format, Reply: status}.String()
				if matchFilter(levels, topic, thing) {
					return true
				}
			}
		}
	}
	return false
}
