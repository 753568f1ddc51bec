// Package app wires `vigil serve` together: the store, the registry, the
// embedded broker, the detector service and the HTTP API, in one process;
// and `vigil detect`, the same without the broker, fed by a client of an
// external one (StartSidecar). Tests start it in-process; cmd/vigil starts
// it from flags.
package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/broker"
	"github.com/vigil-iot/vigil/detector/alert"
	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/certauthority"
	"github.com/vigil-iot/vigil/detector/dashboard"
	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/history"
	"github.com/vigil-iot/vigil/detector/mitigation"
	"github.com/vigil-iot/vigil/detector/mqttclient"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// Defaults of Options, as CONTRACT.md §5 fixes them.
const (
	DefaultMQTTAddr  = "127.0.0.1:1883"
	DefaultHTTPAddr  = "127.0.0.1:8080"
	DefaultDataDir   = "vigil-data"
	DefaultRetention = service.DefaultRetention
)

// Options configures an App.
type Options struct {
	// MQTTAddr is the broker's TCP address; WebSocketAddr an optional
	// WebSocket listener.
	MQTTAddr      string
	WebSocketAddr string
	// HTTPAddr is the API's address.
	HTTPAddr string
	// DataDir holds the store.
	DataDir string
	// AllowAnonymous admits devices without credentials.
	AllowAnonymous bool
	// ReportTime takes datapoint times from report ids (--time-source report).
	ReportTime      bool
	Retention       time.Duration
	MinInterval     time.Duration
	SilenceTimeout  time.Duration
	MinPopulation   int
	MaxReportSize   int
	LenientReportID bool
	// OperatorPassword, when set, admits MQTT clients with the username
	// OperatorUser as operators: they read the violation topics.
	OperatorPassword string
	// FleetPassword, when set, admits MQTT clients with the username
	// FleetUser as a fleet identity: they publish reports for any thing
	// (a simulator, or a gateway speaking for devices behind it).
	FleetPassword string
	// MQTTTLSAddr is the address of the broker's MQTT over TLS listener
	// ("" for none), where devices may log in with a certificate of
	// Vigil's CA. Its server certificate is MQTTTLSCert and MQTTTLSKey
	// (PEM files), or when they are empty one issued by Vigil's CA for
	// localhost, the host name, the listener's host and MQTTTLSHosts.
	MQTTTLSAddr             string
	MQTTTLSCert, MQTTTLSKey string
	MQTTTLSHosts            []string
	// HTTPTLSCert and HTTPTLSKey (PEM files) serve the API over HTTPS.
	HTTPTLSCert, HTTPTLSKey string
	// Tokens protect the API; they are required when HTTPAddr is not a
	// loopback address.
	Tokens api.Tokens
	Logger zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AlertClock times the webhook retries; nil means the system clock.
	AlertClock alert.Clock
}

// App is a running `vigil serve`.
type App struct {
	opts    Options
	log     zerolog.Logger
	db      *store.DB
	broker  *broker.Broker
	client  *mqttclient.Client // in sidecar mode, feeds the detector instead of broker
	service *service.Service
	alerts  *alert.Dispatcher
	history *history.History
	fleet   *fleetstats.Aggregator
	feed    *api.ViolationFeed // violation events for the dashboard's live stream
	http    *http.Server
	httpLn  net.Listener
	cancel  context.CancelFunc
	done    chan struct{}
	errs    chan error
	once    sync.Once
	// alertsDone is closed when the webhook dispatcher has stopped.
	alertsDone chan struct{}

	ca         *certauthority.Authority // nil in sidecar mode
	mitigation *mitigation.Manager      // nil in sidecar mode
	mitCancel  context.CancelFunc
	mitDone    chan struct{}
}

// Start opens the store, starts the broker, the detector and the HTTP API,
// and returns once they all listen.
func Start(opts Options) (*App, error) {
	opts = withDefaults(opts)
	a := &App{opts: opts, log: opts.Logger, done: make(chan struct{}), errs: make(chan error, 2)}
	if err := a.start(); err != nil {
		a.closeParts()
		return nil, err
	}
	return a, nil
}

func withDefaults(o Options) Options {
	if o.MQTTAddr == "" {
		o.MQTTAddr = DefaultMQTTAddr
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultHTTPAddr
	}
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (a *App) start() error {
	reg, err := a.openStore()
	if err != nil {
		return err
	}
	if err := a.openSecurity(); err != nil {
		return err
	}
	tlsConf, err := a.brokerTLS()
	if err != nil {
		return err
	}
	auth := authenticator{reg: reg, operator: a.opts.OperatorPassword, fleet: a.opts.FleetPassword, ca: a.ca}
	report := func(m broker.Message) {
		sender := m.Thing
		if sender == FleetUser {
			sender = "" // the fleet identity reports for any thing
		}
		a.service.HandleReport(m.Topic, m.Payload, sender)
	}
	a.broker, err = broker.New(broker.Options{
		Addr: a.opts.MQTTAddr, WebSocketAddr: a.opts.WebSocketAddr, AllowAnonymous: a.opts.AllowAnonymous,
		Auth: auth, Logger: a.log.With().Str("component", "broker").Logger(),
		MaxPacketSize: max(a.opts.MaxReportSize*2, broker.DefaultMaxPacketSize),
		Reports:       report,
		TLSAddr:       a.opts.MQTTTLSAddr, TLSConfig: tlsConf, Certificates: auth, Quarantine: a.mitigation,
		Now: a.opts.Now,
	})
	if err != nil {
		return err
	}
	promReg, err := a.newService(reg, a.broker)
	if err != nil {
		return err
	}
	for _, root := range []string{proto.RootVigil, proto.RootAWS} {
		// Reports come through Options.Reports; wills on report topics here.
		if err := a.broker.Subscribe(proto.ReportFilter(root), report); err != nil {
			return err
		}
	}
	a.runService()
	if err := a.runMitigation(); err != nil {
		return err
	}
	if err := a.broker.Start(); err != nil {
		return err
	}
	return a.startHTTP(promReg)
}

// openStore opens the store in the data directory and loads the registry.
func (a *App) openStore() (*registry.Registry, error) {
	if err := os.MkdirAll(a.opts.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := store.Open(filepath.Join(a.opts.DataDir, "store"), store.Options{Logger: a.log})
	if err != nil {
		return nil, err
	}
	a.db = db
	return registry.Load(db)
}

// newService builds the history, the fleet statistics and the detector
// service publishing through pub, and returns the metrics' registry.
func (a *App) newService(reg *registry.Registry, pub service.Publisher) (*prometheus.Registry, error) {
	a.history = history.New(a.db, history.Options{Retention: a.opts.Retention, Logger: a.log.With().Str("component", "history").Logger()})
	var err error
	a.fleet, err = fleetstats.New(a.db, fleetstats.Options{Retention: a.opts.Retention, Logger: a.log.With().Str("component", "fleetstats").Logger()})
	if err != nil {
		return nil, err
	}
	a.feed = api.NewViolationFeed()
	pub = a.feed.Tee(pub)
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.newAlerts(reg, promReg); err != nil {
		return nil, err
	}
	a.service, err = service.New(service.Options{
		DB: a.db, Registry: reg, Publisher: pub, Logger: a.log, Now: a.opts.Now, ReportTime: a.opts.ReportTime,
		MaxReportSize: a.opts.MaxReportSize, MinInterval: a.opts.MinInterval, LenientReportID: a.opts.LenientReportID,
		SilenceTimeout: a.opts.SilenceTimeout, MinPopulation: a.opts.MinPopulation, Retention: a.opts.Retention, Registerer: promReg,
		History: a.history, FleetStats: a.fleet, Alerts: a.alerts, Broker: a.brokerSource(),
	})
	return promReg, err
}

// runService starts the detector's loop.
func (a *App) runService() {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.runAlerts(ctx)
	go func() {
		defer close(a.done)
		a.errs <- a.service.Run(ctx)
	}()
}

func (a *App) startHTTP(gatherer prometheus.Gatherer) error {
	ln, err := a.listenHTTP()
	if err != nil {
		return err
	}
	a.httpLn = ln
	handler := api.New(api.Options{Service: a.service, Logger: a.log.With().Str("component", "api").Logger(), Gatherer: gatherer,
		FleetStats: a.fleet, History: a.history, Feed: a.feed, Extra: dashboard.New(),
		Certificates: a.ca, Mitigation: a.mitigation, Disconnector: a.disconnector(), Tokens: a.opts.Tokens})
	a.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	a.http.RegisterOnShutdown(a.feed.Close) // end the event streams, or Shutdown would wait for them
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errs <- fmt.Errorf("serve HTTP: %w", err)
		}
	}()
	a.log.Info().Str("mqtt", a.MQTTAddr()).Str("mqtts", a.MQTTTLSAddr()).Str("http", a.HTTPURL()).Str("data", a.opts.DataDir).Msg("vigil serving")
	return nil
}

// MQTTAddr is the embedded broker's TCP address, or in sidecar mode the
// external broker's URL.
func (a *App) MQTTAddr() string {
	if a.broker == nil {
		return a.sidecarBroker()
	}
	return a.broker.Addr()
}

// HTTPAddr is the API's address.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// Subscribe delivers the messages of the embedded broker that match filter
// (violation events, for instance) to handler, in-process.
func (a *App) Subscribe(filter string, handler func(topic string, payload []byte)) error {
	if a.broker == nil {
		return errNoEmbeddedBroker
	}
	return a.broker.Subscribe(filter, func(m broker.Message) { handler(m.Topic, m.Payload) })
}

// Service is the running detector.
func (a *App) Service() *service.Service { return a.service }

// Wait blocks until the app fails or ctx ends, then closes it.
func (a *App) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-a.errs:
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops everything and closes the store.
func (a *App) Close() error {
	var err error
	a.once.Do(func() { err = a.closeParts() })
	return err
}

func (a *App) closeParts() error {
	var errs []error
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, a.http.Shutdown(ctx))
		cancel()
	}
	if a.broker != nil {
		errs = append(errs, a.broker.Close())
	}
	if a.client != nil {
		errs = append(errs, a.drainClient()) // the detector answers what it has before it stops
	}
	a.stopMitigation()
	if a.cancel != nil {
		a.cancel()
		<-a.done
		a.waitAlerts()
	}
	if a.client != nil {
		errs = append(errs, a.client.Close())
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

// The usernames of the shared MQTT identities.
const (
	OperatorUser = "vigil-operator"
	FleetUser    = "vigil-fleet"
)

// authenticator checks device passwords against the registry, and the
// operator and fleet passwords when they are set.
type authenticator struct {
	reg             *registry.Registry
	operator, fleet string
	ca              *certauthority.Authority // checks client certificates
}

// Authenticate accepts a registered thing with its own password (the
// username, when given, names the thing; else the client id does), and the
// operator and fleet identities with theirs.
func (a authenticator) Authenticate(clientID, username string, password []byte) (broker.Identity, error) {
	for _, shared := range []struct {
		user, password string
		role           broker.Role
	}{{OperatorUser, a.operator, broker.RoleOperator}, {FleetUser, a.fleet, broker.RoleFleet}} {
		if username != shared.user || shared.password == "" {
			continue
		}
		if subtle.ConstantTimeCompare(password, []byte(shared.password)) != 1 {
			return broker.Identity{}, broker.ErrBadCredentials
		}
		return broker.Identity{Thing: shared.user, Role: shared.role}, nil
	}
	thing := clientID
	if username != "" {
		thing = username
	}
	known, ok := a.reg.CheckPassword(thing, password)
	switch {
	case !known:
		return broker.Identity{}, broker.ErrUnknownThing
	case !ok:
		return broker.Identity{}, broker.ErrBadCredentials
	}
	return broker.Identity{Thing: thing, Role: broker.RoleDevice}, nil
}
