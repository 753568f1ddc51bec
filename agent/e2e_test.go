package agent_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/agent"
	"github.com/vigil-iot/vigil/internal/mosquittotest"
	"github.com/vigil-iot/vigil/proto"
)

// e2eInterval is the agents' report interval in these tests.
const e2eInterval = 200 * time.Millisecond

// e2eWait bounds every wait for something to arrive, reconnects included.
const e2eWait = 15 * time.Second

// received is one message seen by the test's subscriber.
type received struct {
	topic   proto.ReportTopic
	payload []byte
}

// inbox keeps what the test's subscriber receives.
type inbox struct {
	mu     sync.Mutex
	msgs   []received
	notify chan struct{}
}

func (in *inbox) add(m received) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	select {
	case in.notify <- struct{}{}:
	default:
	}
}

// reports decodes the reports of a thing received so far.
func (in *inbox) reports(t *testing.T, thing string) []*proto.Report {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []*proto.Report
	for _, m := range in.msgs {
		if m.topic.Thing != thing {
			continue
		}
		r, err := proto.Decode(m.topic.Format, m.payload)
		if err != nil {
			t.Fatalf("report of %s on %v does not decode: %v\n%q", thing, m.topic, err, m.payload)
		}
		out = append(out, r)
	}
	return out
}

// await waits until cond holds for the reports of thing.
func (in *inbox) await(t *testing.T, thing, what string, cond func([]*proto.Report) bool) []*proto.Report {
	t.Helper()
	deadline := time.After(e2eWait)
	for {
		if rs := in.reports(t, thing); cond(rs) {
			return rs
		}
		select {
		case <-in.notify:
		case <-deadline:
			t.Fatalf("%s: not within %v; %d reports of %s so far", what, e2eWait, len(in.reports(t, thing)), thing)
		}
	}
}

// subscribe listens to every report under the $vigil root, resubscribing
// after a broker restart.
func subscribe(t *testing.T, b *mosquittotest.Broker) *inbox {
	t.Helper()
	in := &inbox{notify: make(chan struct{}, 1)}
	subscribed := make(chan error, 1)
	opts := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("e2e-subscriber")
	opts.SetAutoReconnect(true).SetMaxReconnectInterval(500 * time.Millisecond).SetConnectRetryInterval(100 * time.Millisecond)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		tok := c.Subscribe(proto.ReportFilter(proto.RootVigil), 1, func(_ mqtt.Client, m mqtt.Message) {
			topic, err := proto.ParseReportTopic(m.Topic())
			if err != nil || topic.Reply != proto.NoReply {
				return
			}
			in.add(received{topic: topic, payload: m.Payload()})
		})
		go func() {
			tok.Wait()
			select {
			case subscribed <- tok.Error():
			default:
			}
		}()
	})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(e2eWait) || tok.Error() != nil {
		t.Fatalf("connect subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	if err := <-subscribed; err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return in
}

// runningAgent is an agent publishing to the test broker.
type runningAgent struct {
	agent  *agent.Agent
	client *agent.MQTTClient
	logs   *syncBuffer
	stop   func()
}

// startAgent runs an agent for thing until the test ends.
func startAgent(t *testing.T, b *mosquittotest.Broker, thing string, format proto.Format, keys proto.KeyStyle) *runningAgent {
	t.Helper()
	logs := &syncBuffer{}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	a, err := agent.New(agent.Options{
		Thing: thing, Interval: e2eInterval, Format: format, Keys: keys,
		PublishTimeout: 2 * time.Second, Logger: log,
	})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	client, err := agent.DialMQTT(agent.MQTTOptions{
		Broker: b.URL(), Thing: thing, Format: format,
		Replies:           proto.ThingReplyFilter(proto.RootVigil, thing, format),
		MaxReconnectDelay: 500 * time.Millisecond, Logger: log,
	})
	if err != nil {
		t.Fatalf("DialMQTT: %v", err)
	}
	// Run reports at once; a first report that found no connection would
	// go undelivered, and the tests look at the first report.
	if !waitFor(client.Connected, e2eWait) {
		t.Fatalf("agent %s did not connect to %s within %v", thing, b.URL(), e2eWait)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, client) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			client.Close()
		})
	}
	t.Cleanup(stop)
	return &runningAgent{agent: a, client: client, logs: logs, stop: stop}
}

// increasing reports whether the report ids strictly increase.
func increasing(t *testing.T, rs []*proto.Report) {
	t.Helper()
	for i := 1; i < len(rs); i++ {
		if rs[i].Header.ReportID <= rs[i-1].Header.ReportID {
			t.Errorf("report %d has id %d after %d", i, rs[i].Header.ReportID, rs[i-1].Header.ReportID)
		}
	}
}

func TestEndToEndFormats(t *testing.T) {
	b := mosquittotest.Start(t)
	in := subscribe(t, b)
	for _, format := range proto.Formats {
		for _, keys := range []proto.KeyStyle{proto.LongKeys, proto.ShortKeys} {
			thing := fmt.Sprintf("e2e-%v-%v", format, keys)
			t.Run(format.String()+"/"+keys.String(), func(t *testing.T) {
				t.Parallel()
				startAgent(t, b, thing, format, keys)
				rs := in.await(t, thing, "three reports", func(rs []*proto.Report) bool { return len(rs) >= 3 })
				increasing(t, rs)
				if rs[0].Metrics.NetworkStats != nil {
					t.Errorf("first report has network_stats")
				}
				if rs[1].Metrics.NetworkStats == nil {
					t.Errorf("second report has no network_stats")
				}
			})
		}
	}
}

func TestEndToEndBrokerRestart(t *testing.T) {
	b := mosquittotest.Start(t)
	in := subscribe(t, b)
	const thing = "e2e-restart"
	ag := startAgent(t, b, thing, proto.CBOR, proto.ShortKeys)
	in.await(t, thing, "reports before the restart", func(rs []*proto.Report) bool { return len(rs) >= 2 })

	b.Restart()
	restarted := time.Now().UnixMilli()
	rs := in.await(t, thing, "reports after the restart", func(rs []*proto.Report) bool {
		return len(rs) > 0 && rs[len(rs)-1].Header.ReportID > restarted
	})
	increasing(t, rs)
	if n := strings.Count(ag.logs.String(), `"message":"connected"`); n < 2 {
		t.Errorf("agent logged %d connects, want at least 2 (before and after the restart)", n)
	}
}

func TestEndToEndReplies(t *testing.T) {
	b := mosquittotest.Start(t)
	in := subscribe(t, b)
	const thing = "e2e-replies"
	ag := startAgent(t, b, thing, proto.MsgPack, proto.LongKeys)
	rs := in.await(t, thing, "a report", func(rs []*proto.Report) bool { return len(rs) > 0 })
	id := rs[0].Header.ReportID

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("e2e-server"))
	if tok := pub.Connect(); !tok.WaitTimeout(e2eWait) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	topic := proto.ReportTopic{Root: proto.RootVigil, Thing: thing, Format: proto.MsgPack}
	tests := []struct {
		name  string
		reply proto.Reply
		want  []string
	}{
		{"accepted", proto.AcceptedReply(thing, id, 1700000000000),
			[]string{`"message":"report accepted"`, fmt.Sprintf(`"report_id":%d`, id)}},
		{"rejected", proto.RejectedReply(thing, id+1, 1700000000000, &proto.Error{Code: proto.InvalidReportID, Field: "header.report_id", Message: "not greater than the last"}),
			[]string{`"message":"report rejected"`, fmt.Sprintf(`"report_id":%d`, id+1), `"code":"InvalidReportId"`, "not greater than the last"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := proto.EncodeReply(proto.MsgPack, tt.reply)
			if err != nil {
				t.Fatal(err)
			}
			// The agent subscribes to its replies just after it connects;
			// a report that got through proves the connection, not the
			// subscription, so the reply is sent again until it is seen.
			deadline := time.Now().Add(e2eWait)
			for logLine(ag.logs.String(), tt.want...) == "" {
				if time.Now().After(deadline) {
					t.Fatalf("the agent did not log the reply within %v; log:\n%s", e2eWait, ag.logs.String())
				}
				tok := pub.Publish(topic.ReplyTopic(tt.reply.Status).String(), 1, false, payload)
				if !tok.WaitTimeout(e2eWait) || tok.Error() != nil {
					t.Fatalf("publish reply: %v", tok.Error())
				}
				waitFor(func() bool { return logLine(ag.logs.String(), tt.want...) != "" }, 500*time.Millisecond)
			}
		})
	}
}

// logLine returns the first log line holding every one of parts.
func logLine(logs string, parts ...string) string {
	for _, line := range strings.Split(logs, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok && line != "" {
			return line
		}
	}
	return ""
}
