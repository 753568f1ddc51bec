package service

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/history"
)

// historyFlushInterval is how often buffered history goes to the store.
const historyFlushInterval = time.Minute

// retention keeps what a profile retains: every datapoint of the metrics
// its behaviors use or it lists in additionalMetricsToRetainV2 goes to the
// history, and numeric ones to the profile's fleet summaries.
type retention struct {
	history   *history.History
	fleet     *fleetstats.Aggregator
	metrics   atomic.Pointer[map[string][]string] // profile -> retained metrics, sorted; replaced whole
	lastFlush time.Time
}

// refreshRetained recomputes the retained metrics of every profile. Called
// with s.mu held, after any profile change.
func (s *Service) refreshRetained() {
	m := make(map[string][]string)
	for _, p := range s.reg.Profiles() {
		m[p.Name] = p.RetainedMetrics()
	}
	s.retain.metrics.Store(&m)
	s.syncBrokerDimensions()
}

// retainDatapoints records an accepted report's datapoints in the history
// (once per metric, whatever the number of profiles retaining it) and in
// the fleet summaries of each covering profile that retains them. Called
// once the report is committed, by the committer.
func (s *Service) retainDatapoints(now time.Time, thing string, profiles []string, dps []detector.Datapoint) {
	if s.retain.history == nil && s.retain.fleet == nil {
		return
	}
	retained := *s.retain.metrics.Load()
	for _, dp := range dps {
		kept := false
		for _, p := range profiles {
			if !slices.Contains(retained[p], dp.Metric) {
				continue
			}
			kept = true
			if s.retain.fleet != nil && (dp.Value.Kind == detector.KindCount || dp.Value.Kind == detector.KindNumber) {
				info, _ := s.reg.MetricLookup(dp.Metric)
				s.retain.fleet.Add(p, dp.Metric, thing, now, dp.Value.Number, info.Counter)
			}
		}
		if kept && s.retain.history != nil {
			s.retain.history.Append(thing, dp.Metric, now, dp.Value)
		}
	}
}

// tickRetained closes fleet windows, flushes the history every minute, and
// applies retention when gc is set. Called without s.mu held.
func (s *Service) tickRetained(now time.Time, gc bool) {
	if f := s.retain.fleet; f != nil && !now.IsZero() {
		if err := f.Tick(now); err != nil {
			s.log.Error().Err(err).Msg("fleet statistics")
		}
	}
	h := s.retain.history
	if h == nil {
		return
	}
	if wall := time.Now(); wall.Sub(s.retain.lastFlush) >= historyFlushInterval {
		s.retain.lastFlush = wall
		if err := h.Flush(); err != nil {
			s.log.Error().Err(err).Msg("flush metric history")
		}
	}
	if gc {
		if err := h.Expire(now); err != nil {
			s.log.Error().Err(err).Msg("metric history retention")
		}
	}
}

// flushHistory writes the buffered history, on shutdown.
func (s *Service) flushHistory() {
	if h := s.retain.history; h != nil {
		if err := h.Flush(); err != nil {
			s.log.Error().Err(err).Msg("flush metric history")
		}
	}
}
