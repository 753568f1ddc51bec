package service

import "time"

// Clock returns the service clock: the server's, or with ReportTime the
// latest report time (the server's until a report arrives). Readers of the
// history and the fleet statistics use it as "now", so that a fleet replayed
// in simulated time is shown at its own time.
func (s *Service) Clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// Reporting returns how many things had a report accepted within window
// before the service clock, and that clock.
func (s *Service) Reporting(window time.Duration) (count int, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now = s.now()
	since := now.Add(-window)
	for _, st := range s.ingest {
		if st.LastReport.After(since) {
			count++
		}
	}
	return count, now
}

// LastReport returns the time of the thing's latest accepted report.
func (s *Service) LastReport(thing string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.ingest[thing]
	if !ok || st.LastReport.IsZero() {
		return time.Time{}, false
	}
	return st.LastReport, true
}
