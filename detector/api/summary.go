package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-iot/vigil/detector/service"
)

// DefaultReportingWindow is how recent a thing's last report must be for
// GET /api/fleet-summary to count it as reporting: two report intervals of
// 5 minutes.
const DefaultReportingWindow = 10 * time.Minute

// fleetSummaryOut is the answer of GET /api/fleet-summary.
type fleetSummaryOut struct {
	// Now is the service clock (with --time-source report, the latest
	// report time): the "now" to read the history and statistics at.
	Now                    epochSeconds `json:"now"`
	ThingCount             int          `json:"thingCount"`
	ThingGroupCount        int          `json:"thingGroupCount"`
	SecurityProfileCount   int          `json:"securityProfileCount"`
	ReportingThingCount    int          `json:"reportingThingCount"`
	ReportingWindowSeconds int64        `json:"reportingWindowSeconds"`
	ActiveViolationCount   int          `json:"activeViolationCount"`
	// StreamClients is the number of clients of the event stream.
	StreamClients int `json:"streamClients"`
}

func (s *server) summaryRoutes() {
	s.handle("GET /api/fleet-summary", s.fleetSummary)
}

// fleetSummary answers with the counts the dashboard's overview shows:
// things known and reporting, groups, profiles, active violations, and the
// service clock. reportingWindow (seconds or a duration such as 10m,
// default DefaultReportingWindow) sets how recent a report must be.
func (s *server) fleetSummary(w http.ResponseWriter, r *http.Request) error {
	window := DefaultReportingWindow
	if v := r.URL.Query().Get("reportingWindow"); v != "" {
		d, err := parseWindow(v)
		if err != nil {
			return invalid("reportingWindow: want seconds (600) or a duration (10m) of at least 1s, got %q", v)
		}
		window = d
	}
	reporting, now := s.svc.Reporting(window)
	out := fleetSummaryOut{
		Now: secondsOf(now), ThingCount: len(s.reg.Things()), ThingGroupCount: len(s.reg.Groups()),
		SecurityProfileCount: len(s.reg.Profiles()), ReportingThingCount: reporting,
		ReportingWindowSeconds: int64(window / time.Second), ActiveViolationCount: len(s.svc.ActiveViolations(service.ViolationFilter{})),
	}
	if s.feed != nil {
		out.StreamClients = s.feed.Clients()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseWindow reads whole seconds or a Go duration, at least a second.
func parseWindow(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseInt(v, 10, 64)
		if nerr != nil || n > int64(365*24*time.Hour/time.Second) {
			return 0, err
		}
		d = time.Duration(n) * time.Second
	}
	if d < time.Second {
		return 0, strconv.ErrRange
	}
	return d, nil
}
