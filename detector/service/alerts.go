package service

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// AlertOutbox takes the deliveries of violation events to profiles'
// webhooks (alert.Dispatcher fits). Stage adds one to the batch of its
// event; Committed says that the batches staged so far are committed. The
// service stages and commits in one order, under its lock.
type AlertOutbox interface {
	Stage(b *store.Batch, profile, thing, key string, payload []byte)
	Committed()
}

// DeliveryKey is the idempotency key of an event's delivery to an alert
// target: one alarm has at most one event of each type.
func DeliveryKey(violationID string, t proto.EventType) string {
	return violationID + "-" + string(t)
}

// alert sends an event to its profile's alert targets: the extra MQTT
// topic through the outbox, like the event topic, and the webhook through
// Options.Alerts. Events of behaviors with suppressAlerts go to neither.
func (s *Service) alert(b *store.Batch, ev detector.Event, payload []byte) {
	if ev.Suppressed {
		s.alerts.suppressed.Inc()
		return
	}
	p, ok := s.reg.Profile(ev.Profile)
	if !ok {
		return
	}
	if t, ok := p.AlertTargets[registry.AlertMQTT]; ok {
		s.enqueue(b, outboxEntry{Topic: t.Topic, Payload: payload, QoS: 1})
		s.alerts.sent.WithLabelValues(registry.AlertMQTT).Inc()
	}
	if _, ok := p.AlertTargets[registry.AlertWebhook]; ok && s.opts.Alerts != nil {
		s.opts.Alerts.Stage(b, ev.Profile, ev.Thing, DeliveryKey(ev.ViolationID, ev.Type), payload)
		s.alerts.sent.WithLabelValues(registry.AlertWebhook).Inc()
	}
}

// alertsCommitted lets the webhook deliveries of committed batches go.
func (s *Service) alertsCommitted() {
	if s.opts.Alerts != nil {
		s.opts.Alerts.Committed()
	}
}

// alertMetrics count the events sent to alert targets.
type alertMetrics struct {
	sent       *prometheus.CounterVec
	suppressed prometheus.Counter
}

func newAlertMetrics(reg prometheus.Registerer) *alertMetrics {
	m := &alertMetrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_alerts_total",
			Help: "Violation events queued for alert targets, by target type (MQTT, WEBHOOK)."}, []string{"type"}),
		suppressed: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_alerts_suppressed_total",
			Help: "Violation events kept from alert targets by suppressAlerts."}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.suppressed)
	}
	return m
}
