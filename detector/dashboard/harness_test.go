package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/sim"
)

// fleetPassword is the fleet identity's password in the test server.
const fleetPassword = "fleet-secret"

// demoServer is a vigil serve in-process with the scanner fleet replayed
// into it in simulated time.
type demoServer struct {
	app   *app.App
	fleet *sim.Fleet
	opts  sim.Options
	base  string // http://host:port
	token string // the admin token the test calls the API with, if any
}

// startDemo starts a server with report-time semantics, registers the
// fleet and the recommended profile, and replays span of simulated time
// ending at end as fast as the server takes it.
func startDemo(t testing.TB, devices int, span time.Duration, end time.Time) *demoServer {
	t.Helper()
	return startDemoWith(t, devices, span, end, api.Tokens{})
}

// startDemoWith is startDemo with API tokens; the test's own API calls
// use the first admin token.
func startDemoWith(t testing.TB, devices int, span time.Duration, end time.Time, tokens api.Tokens) *demoServer {
	t.Helper()
	a, err := app.Start(app.Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), ReportTime: true,
		FleetPassword: fleetPassword, Logger: zerolog.Nop(), Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	opts := sim.Options{Devices: devices, Cities: 1, ScannersPerFactory: 50, Seed: 7, Start: end.Add(-span), Replay: span, Duration: span,
		IncidentRate: 15, ProgressInterval: -1, Logger: zerolog.Nop()}
	// Besides the generated incidents, a flood from one scanner five hours
	// before the end, so that the last day surely holds static and
	// statistical alarms.
	probe, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Incidents = []sim.Incident{{Kind: sim.DDoS, Thing: probe.Things()[10].Name, Start: end.Add(-5 * time.Hour), End: end.Add(-4 * time.Hour), Factor: 40}}
	fleet, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &demoServer{app: a, fleet: fleet, opts: opts, base: "http://" + a.HTTPAddr()}
	if len(tokens.Admin) > 0 {
		s.token = tokens.Admin[0]
	}
	s.register(t)
	s.run(t, fleet)
	return s
}

// register creates the fleet's groups and things and the recommended
// profile, attached to every thing.
func (s *demoServer) register(t testing.TB) {
	t.Helper()
	svc := s.app.Service()
	for _, g := range s.fleet.Groups() {
		if _, err := svc.CreateGroup(registry.Group{Name: g.Name, Parent: g.Parent}); err != nil {
			t.Fatal(err)
		}
	}
	for _, th := range s.fleet.Things() {
		if _, err := svc.CreateThing(th.Name, map[string]string{"city": th.City, "factory": th.Factory}, ""); err != nil {
			t.Fatal(err)
		}
		if err := svc.AddThingToGroup(th.Factory, th.Name); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile("testdata/scanner-recommended.json")
	if err != nil {
		t.Fatal(err)
	}
	var p registry.Profile
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := svc.Attach(p.Name, registry.AllThings); err != nil {
		t.Fatal(err)
	}
}

// run publishes a fleet's reports over MQTT as the fleet identity and
// waits until the detector has taken them all.
func (s *demoServer) run(t testing.TB, fleet *sim.Fleet) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pub, err := sim.DialMQTT(ctx, sim.MQTTOptions{Broker: "tcp://" + s.app.MQTTAddr(), Username: app.FleetUser, Password: fleetPassword,
		Connections: 4, ClientID: fmt.Sprintf("dash-test-%p-", fleet), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	before := s.app.Service().AcceptedReports()
	if err := fleet.Run(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	want := before + pub.Counts().Acknowledged
	for s.app.Service().AcceptedReports() < want {
		if ctx.Err() != nil {
			t.Fatalf("the detector took %d of %d reports", s.app.Service().AcceptedReports()-before, want-before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inject publishes interval reports of the whole fleet after the replay,
// with the incident in them.
func (s *demoServer) inject(t testing.TB, in sim.Incident, intervals int) {
	t.Helper()
	start := s.opts.Start.Add(s.opts.Duration)
	opts := s.opts
	opts.Start, opts.Replay, opts.Duration = start, time.Duration(intervals)*sim.DefaultInterval, time.Duration(intervals)*sim.DefaultInterval
	opts.IncidentRate = 0
	in.Start, in.End = start, start.Add(opts.Duration)
	opts.Incidents = []sim.Incident{in}
	fleet, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.run(t, fleet)
	s.opts.Duration += opts.Duration
}

// getJSON reads an API answer.
func (s *demoServer) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// chromiumPath finds Debian's chromium; without it the browser tests skip,
// except in CI, where they fail.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI (apt-get install chromium)")
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}

// browser is a headless Chromium whose console errors, uncaught
// exceptions and failed loads are collected.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

// newBrowser starts Chromium with the flags a shared CI machine needs, in
// a fixed time zone (UTC+1, the zone of the simulated city) and size.
func newBrowser(t testing.TB) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1440, 900),
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	b.prepare(t, ctx)
	return b
}

// tab opens another tab of the same browser.
func (b *browser) tab(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	b.prepare(t, ctx)
	return ctx
}

// prepare opens the tab, sets its time zone and collects its errors.
func (b *browser) prepare(t testing.TB, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Etc/GMT-1"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			b.mu.Lock()
			b.errors = append(b.errors, fmt.Sprintf("%s %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
			b.mu.Unlock()
		}
	}()
}

// takeErrors returns and forgets the errors collected so far.
func (b *browser) takeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errors
	b.errors = nil
	return out
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(ctx context.Context, expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("timed out waiting for " + expr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsDo runs a JavaScript statement for its effect.
func jsDo(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool]("("+expr+"), true")(ctx, t)
		return err
	})
}
