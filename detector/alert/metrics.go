package alert

import "github.com/prometheus/client_golang/prometheus"

// The reasons a delivery is dropped, as vigil_alert_webhook_dropped_total
// labels them.
const (
	dropOverflow = "overflow"       // past MaxPending for its profile
	dropExpired  = "expired"        // older than MaxAge
	dropRemoved  = "target-removed" // its profile or webhook was deleted
	dropCorrupt  = "undecodable"    // its stored record could not be read
)

// metrics are the Prometheus metrics of webhook delivery.
type metrics struct {
	attempts *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	pending  *prometheus.GaugeVec
	latency  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_alert_webhook_attempts_total",
			Help: "Webhook delivery attempts, by result (delivered, failed)."}, []string{"result"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_alert_webhook_dropped_total",
			Help: "Webhook deliveries given up, by reason (overflow, expired, target-removed, undecodable)."}, []string{"reason"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigil_alert_webhook_pending",
			Help: "Webhook deliveries queued, by security profile."}, []string{"profile"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigil_alert_webhook_seconds",
			Help: "Time of one webhook delivery attempt.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}),
	}
	for _, r := range []string{"delivered", "failed"} {
		m.attempts.WithLabelValues(r)
	}
	for _, r := range []string{dropOverflow, dropExpired, dropRemoved, dropCorrupt} {
		m.dropped.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.dropped, m.pending, m.latency)
	}
	return m
}
