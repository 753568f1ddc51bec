package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/certauthority"
	"github.com/vigil-iot/vigil/detector/mitigation"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
)

// Options configures the API.
type Options struct {
	// Service is the running detector. Without it, every /api call
	// answers 503 ServiceUnavailableException.
	Service *service.Service
	Logger  zerolog.Logger
	// Gatherer is served at /metrics; nil means prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Extra is mounted at "/" (the dashboard); nil means a small index page
	// listing the API.
	Extra http.Handler
	// FleetStats serves GET /api/metric-statistics; nil leaves that call an
	// unknown operation (404).
	FleetStats FleetSeries
	// History serves GET /api/metric-values; nil leaves that call an
	// unknown operation (404).
	History MetricValues
	// Certificates serves the certificate calls; nil leaves them unknown
	// operations.
	Certificates *certauthority.Authority
	// Mitigation serves the quarantine and mitigation calls; nil leaves
	// them unknown operations.
	Mitigation *mitigation.Manager
	// Disconnector ends the connection of a thing whose credentials are
	// revoked; nil when there is no broker.
	Disconnector Disconnector
	// Tokens, when set, are required on /api and /metrics (tokens.go).
	Tokens Tokens
	// Feed serves GET /api/violation-events/stream; nil leaves that call
	// an unknown operation (404).
	Feed *ViolationFeed
}

// server holds what the handlers need.
type server struct {
	svc *service.Service
	reg *registry.Registry
	log zerolog.Logger
	mux *http.ServeMux

	fleet FleetSeries // nil without fleet statistics

	history MetricValues // nil without metric history

	ca           *certauthority.Authority // nil without certificates
	mitigation   *mitigation.Manager      // nil without mitigations
	disconnector Disconnector             // nil without a broker
	feed         *ViolationFeed           // nil without an event stream
}

// New returns the HTTP handler of the API, /healthz, /metrics and Extra.
func New(opts Options) http.Handler {
	s := &server{svc: opts.Service, log: opts.Logger.With().Str("component", "api").Logger(), mux: http.NewServeMux()}
	s.fleet = opts.FleetStats
	s.history = opts.History
	s.ca, s.mitigation, s.disconnector = opts.Certificates, opts.Mitigation, opts.Disconnector
	s.feed = opts.Feed
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.DefaultGatherer
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	if opts.Service == nil {
		s.mux.HandleFunc("/api/", s.unavailable)
	} else {
		s.reg = opts.Service.Registry()
		s.routes()
		s.mux.HandleFunc("/api/", s.unknownRoute)
	}
	if opts.Extra != nil {
		s.mux.Handle("/", opts.Extra)
	} else {
		s.mux.HandleFunc("GET /{$}", index)
	}
	return s.recoverer(s.logged(s.authorized(opts.Tokens, s.mux)))
}

// handler is an API handler: it writes its answer, or returns an error for
// the caller to write.
type handler func(w http.ResponseWriter, r *http.Request) error

// handle registers an API handler.
func (s *server) handle(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}

// routes registers the API calls.
func (s *server) routes() {
	s.profileRoutes()
	s.thingRoutes()
	s.groupRoutes()
	s.customMetricRoutes()
	s.violationRoutes()
	s.metricStatisticsRoutes()
	s.metricValueRoutes()
	s.certificateRoutes()
	s.mitigationRoutes()
	s.dimensionRoutes()
	s.streamRoutes()
	s.summaryRoutes()
}

// apiMethods are the methods an API route may take, in the Allow header's
// order.
var apiMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// unknownRoute answers a request no API route takes: 405 with the allowed
// methods when the path is known, 404 otherwise.
func (s *server) unknownRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range apiMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/api/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, r, s.log, &Error{Status: http.StatusMethodNotAllowed, Type: MethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, ", "))})
		return
	}
	writeError(w, r, s.log, &Error{Status: http.StatusNotFound, Type: UnknownOperation,
		Message: fmt.Sprintf("no API operation at %s %s", r.Method, r.URL.Path)})
}

func (s *server) unavailable(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, s.log, &Error{Status: http.StatusServiceUnavailable, Type: ServiceUnavailable, Message: "the detector is not running"})
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logged logs each request at debug level.
func (s *server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
			Dur("took", time.Since(start)).Msg("request")
	})
}

// recoverer turns a panic in a handler into a logged 500.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, s.log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// indexText lists the API on the index page.
const indexText = `Vigil: fleet security monitor (AWS IoT Device Defender Detect compatible)

API (AWS IoT REST paths and JSON bodies):
  POST|GET|PATCH|DELETE  /api/security-profiles/{name}
  GET                    /api/security-profiles
  PUT|GET|DELETE         /api/security-profiles/{name}/targets
  GET                    /api/security-profiles-for-target?securityProfileTargetArn=ARN
  POST                   /api/security-profile-behaviors/validate
  POST|GET|DELETE        /api/things/{name}
  PUT                    /api/things/{name}/password
  GET                    /api/things
  POST|GET|DELETE        /api/thing-groups/{name}
  GET                    /api/thing-groups
  GET                    /api/thing-groups/{name}/things
  PUT                    /api/thing-groups/addThingToThingGroup
  PUT                    /api/thing-groups/removeThingFromThingGroup
  POST|GET|DELETE        /api/custom-metric/{name}
  GET                    /api/custom-metrics
  POST|GET|PATCH|DELETE  /api/dimensions/{name}
  GET                    /api/dimensions
  GET                    /api/active-violations
  GET                    /api/violation-events?startTime=T&endTime=T
  POST                   /api/violations/verification-state/{violationId}
  POST                   /api/things/{name}/keys-and-certificate
  POST                   /api/things/{name}/revoke-credentials
  GET                    /api/certificates?thingName=NAME
  GET|PUT                /api/certificates/{id}?newStatus=ACTIVE|INACTIVE|REVOKED
  GET                    /api/ca-certificate
  PUT|GET|DELETE         /api/things/{name}/quarantine
  GET                    /api/quarantined-things
  PUT|GET|DELETE         /api/security-profiles/{name}/mitigations
  GET                    /api/detect/mitigationactions/executions?violationId=ID&thingName=NAME
  GET                    /api/violation-events/stream   (server-sent events)
  GET                    /api/fleet-summary
  GET|POST|DELETE        /api/session   (dashboard sign-in: session cookie)

  GET /healthz   liveness
  GET /metrics   Prometheus metrics
`

func index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(indexText))
}
