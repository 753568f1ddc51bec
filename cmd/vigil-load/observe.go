package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/proto"
)

// scrapeInterval is the time between two reads of the server's metrics.
const scrapeInterval = 100 * time.Millisecond

// deliveries counts the reports delivered so far and when the count last
// grew.
type deliveries struct {
	count  atomic.Int64
	lastAt atomic.Int64 // unix nanoseconds
	stop   func()
}

func (d *deliveries) add(n int64) {
	if n > 0 {
		d.count.Add(n)
		d.lastAt.Store(time.Now().UnixNano())
	}
}

// Delivered returns the count and the time it last grew.
func (d *deliveries) Delivered() (int64, time.Time) {
	return d.count.Load(), time.Unix(0, d.lastAt.Load())
}

// Close stops counting.
func (d *deliveries) Close() { d.stop() }

// countAccepted follows the server's count of accepted reports, from its
// value now.
func countAccepted(ctx context.Context, url string) (*deliveries, error) {
	base, err := scrapeAccepted(ctx, url)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	d := &deliveries{stop: cancel}
	go func() {
		seen := base
		for ctx.Err() == nil {
			time.Sleep(scrapeInterval)
			if v, err := scrapeAccepted(ctx, url); err == nil && v > seen {
				d.add(v - seen)
				seen = v
			}
		}
	}()
	return d, nil
}

// scrapeAccepted reads vigil_reports_accepted_total from a metrics page.
func scrapeAccepted(ctx context.Context, url string) (int64, error) {
	return scrapeGauge(ctx, url, "vigil_reports_accepted_total")
}

// countSubscribed counts the reports a QoS 1 subscriber of every report
// topic receives.
func countSubscribed(ctx context.Context, broker string) (*deliveries, error) {
	d := &deliveries{}
	cl, err := subscribe(ctx, broker, "vigil-load-count", "", "", proto.ReportFilter(proto.RootAWS), func(mqtt.Message) { d.add(1) })
	if err != nil {
		return nil, err
	}
	d.stop = func() { cl.Disconnect(100) }
	return d, nil
}

// subscribe connects a client and subscribes it to filter at QoS 1.
func subscribe(ctx context.Context, broker, id, user, password, filter string, handle func(mqtt.Message)) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetUsername(user).SetPassword(password).
		SetCleanSession(true).SetOrderMatters(false).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	cl := mqtt.NewClient(opts)
	if err := wait(ctx, cl.Connect()); err != nil {
		return nil, fmt.Errorf("connect to %s as %q: %w", broker, id, err)
	}
	if err := wait(ctx, cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { handle(m) })); err != nil {
		cl.Disconnect(0)
		return nil, fmt.Errorf("subscribe to %s on %s: %w", filter, broker, err)
	}
	return cl, nil
}

func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return fmt.Errorf("no answer from the broker")
	}
}

// latencies matches violation events to the publishes of the reports that
// caused them.
type latencies struct {
	mu        sync.Mutex
	sent      map[sentKey]time.Time
	samples   []time.Duration
	sentCount int64
	unmatched int64
	client    mqtt.Client
}

type sentKey struct {
	thing string
	id    int64
}

// watchEvents subscribes to the violation events.
func watchEvents(ctx context.Context, c config) (*latencies, error) {
	l := &latencies{sent: make(map[sentKey]time.Time)}
	var err error
	l.client, err = subscribe(ctx, c.eventsBroker(), "vigil-load-events", c.EventsUsername, c.EventsPassword, c.EventsFilter, l.onEvent)
	return l, err
}

// published notes when the report of thing with report id id went out.
func (l *latencies) published(thing string, id int64, at time.Time) {
	l.mu.Lock()
	l.sent[sentKey{thing, id}] = at
	l.sentCount++
	l.mu.Unlock()
}

func (l *latencies) onEvent(m mqtt.Message) {
	now := time.Now()
	var ev proto.ViolationEvent
	if err := json.Unmarshal(m.Payload(), &ev); err != nil {
		return
	}
	k := sentKey{ev.ThingName, ev.ViolationEventTime}
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.sent[k]
	if !ok {
		l.unmatched++
		return
	}
	delete(l.sent, k)
	l.samples = append(l.samples, now.Sub(at))
}

// events returns the matched events so far.
func (l *latencies) events() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.samples))
}

// quantile returns the q-quantile of the latencies (nearest rank), or 0
// when there are none.
func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) == 0 {
		return 0
	}
	s := slices.Clone(l.samples)
	slices.Sort(s)
	return s[nearestRank(len(s), q)]
}

// nearestRank is the index of the q-quantile of n sorted values.
func nearestRank(n int, q float64) int {
	r := int(q*float64(n)+0.999999999) - 1
	return min(max(r, 0), n-1)
}

// Close unsubscribes.
func (l *latencies) Close() { l.client.Disconnect(100) }

// counts returns the violating reports published and the events that
// matched none of them.
func (l *latencies) counts() (sent, unmatched int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sentCount, l.unmatched
}
