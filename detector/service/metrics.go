package service

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-iot/vigil/proto"
)

// serviceMetrics are the Prometheus metrics of the detector.
type serviceMetrics struct {
	accepted         prometheus.Counter
	rejectedBy       *prometheus.CounterVec
	raised           prometheus.Counter
	endedBy          *prometheus.CounterVec
	activeViolations prometheus.Gauge
	ingestLatency    prometheus.Histogram
	storeBytes       prometheus.Gauge
}

func newServiceMetrics(reg prometheus.Registerer) *serviceMetrics {
	m := &serviceMetrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_reports_accepted_total", Help: "Reports accepted."}),
		rejectedBy: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_reports_rejected_total",
			Help: "Reports rejected, by error code."}, []string{"code"}),
		raised: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_violations_raised_total", Help: "Alarms that went in-alarm."}),
		endedBy: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_violations_ended_total",
			Help: "Alarms that ended, by event type (alarm-cleared, alarm-invalidated)."}, []string{"type"}),
		activeViolations: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigil_active_violations", Help: "Alarms in force."}),
		ingestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigil_ingest_seconds",
			Help: "Time to evaluate and commit one report, averaged over its batch.", Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10)}),
		storeBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigil_store_bytes", Help: "Size of the store on disk."}),
	}
	if reg != nil {
		reg.MustRegister(m.accepted, m.rejectedBy, m.raised, m.endedBy, m.activeViolations, m.ingestLatency, m.storeBytes)
	}
	return m
}

func (m *serviceMetrics) rejected(err error) {
	code := proto.InvalidPayload
	var pe *proto.Error
	if errors.As(err, &pe) {
		code = pe.Code
	}
	m.rejectedBy.WithLabelValues(string(code)).Inc()
}

func (m *serviceMetrics) ended(t proto.EventType) {
	m.endedBy.WithLabelValues(string(t)).Inc()
}
