package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// demoProfile is the recommended profile for the scanner fleet.
//
//go:embed demo_profile.json
var demoProfile []byte

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Vigil with a simulated fleet of ID-card scanners, incidents included",
		Long: "demo starts vigil serve with a temporary data directory, registers a simulated fleet of ID-card scanners\n" +
			"(cities, factories, doors), applies the recommended profile, replays past days fast so the history is full,\n" +
			"then runs live with injected incidents (botnet floods, spam relays, command-and-control peers, backdoor\n" +
			"ports, slow exfiltration) and prints every alarm as it is raised. Nothing to configure.",
		Example: "  vigil demo\n  vigil demo --devices 5000 --replay 72h --speed 600",
		Args:    cobraArgs(cobra.NoArgs),
		RunE:    runDemo,
	}
	f := cmd.Flags()
	f.String("mqtt", app.DefaultMQTTAddr, "MQTT listener address")
	f.String("http", app.DefaultHTTPAddr, "HTTP API address")
	f.String("data", "", "data directory (default: a temporary one, removed at exit)")
	f.Int("devices", 1000, "number of simulated scanners")
	f.Int("cities", sim.DefaultCities, "number of cities")
	f.Uint64("seed", 1, "seed of the simulation: the same seed gives the same fleet and incidents")
	f.Duration("replay", 14*24*time.Hour, "simulated past replayed as fast as possible before the live run (14 days fill the dashboard's longest view)")
	f.Float64("speed", 300, "simulated seconds per wall second in the live run (300: one report interval per second)")
	f.Float64("incident-rate", 2, "generated incidents of each kind per 1,000 device-days")
	f.String("truth", "", "file that receives the ground truth of the injected incidents (JSON lines)")
	return cmd
}

func runDemo(cmd *cobra.Command, _ []string) error {
	if err := applyConfig(cmd); err != nil {
		return err
	}
	log, err := newLogger(cmd)
	if err != nil {
		return err
	}
	f := cmd.Flags()
	opts := demoOptions{out: cmd.OutOrStdout(), log: log}
	opts.mqtt, _ = f.GetString("mqtt")
	opts.http, _ = f.GetString("http")
	opts.data, _ = f.GetString("data")
	opts.truth, _ = f.GetString("truth")
	opts.fleet.Devices, _ = f.GetInt("devices")
	opts.fleet.Cities, _ = f.GetInt("cities")
	opts.fleet.Seed, _ = f.GetUint64("seed")
	opts.fleet.Replay, _ = f.GetDuration("replay")
	opts.fleet.Speed, _ = f.GetFloat64("speed")
	opts.fleet.IncidentRate, _ = f.GetFloat64("incident-rate")
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return demo(ctx, opts)
}

// demoOptions is a demo run's settings.
type demoOptions struct {
	mqtt, http, data, truth string
	fleet                   sim.Options
	out                     io.Writer
	log                     zerolog.Logger
}

func demo(ctx context.Context, o demoOptions) error {
	if o.data == "" {
		dir, err := os.MkdirTemp("", "vigil-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.data = dir
	}
	password := randomSecret()
	quiet := o.log.Level(max(o.log.GetLevel(), zerolog.WarnLevel))
	a, err := app.Start(app.Options{MQTTAddr: o.mqtt, HTTPAddr: o.http, DataDir: o.data, ReportTime: true,
		FleetPassword: password, OperatorPassword: password, Logger: quiet})
	if err != nil {
		return err
	}
	defer a.Close()
	o.fleet.Logger, o.fleet.Root = quiet, proto.RootAWS
	if o.truth != "" {
		tf, err := os.Create(o.truth)
		if err != nil {
			return err
		}
		defer tf.Close()
		o.fleet.Truth = tf
	}
	fleet, err := sim.New(o.fleet)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := registerDemoFleet(a, fleet); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "Vigil demo: %d ID-card scanners in %d cities, recommended profile %q applied.\n", fleet.Len(), len(citiesOf(fleet)), "scanner-recommended")
	fmt.Fprintf(o.out, "Dashboard: http://%s/   API: http://%s/api   MQTT: %s (operator user %s, password %s)\n",
		a.HTTPAddr(), a.HTTPAddr(), a.MQTTAddr(), app.OperatorUser, password)
	fmt.Fprintf(o.out, "Replaying %s of simulated time as fast as it goes (alarms of past incidents show as they are found),\n"+
		"then live at %gx. Alarms:\n", days(o.fleet.Replay), fleet.Options().Speed)
	var mu sync.Mutex // one line at a time on out
	if err := printAlarms(a, o.out, &mu); err != nil {
		return err
	}
	stop := printReplayDays(fleet, o.out, &mu)
	defer stop()
	return runFleet(ctx, a, fleet, password, o)
}

// days says a duration in days when it is whole days.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}

// printReplayDays prints a line each time the replay enters a new
// simulated day, and one when the live run begins, so that the wait for
// the live run can be judged. It stops when the returned function is
// called.
func printReplayDays(fleet *sim.Fleet, out io.Writer, mu *sync.Mutex) (stop func()) {
	o := fleet.Options()
	liveFrom := o.Start.Add(o.Replay)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(200 * time.Millisecond)
		defer ticker.Stop()
		lastDay := -1
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
			}
			now := fleet.Stats().SimTime
			if now.IsZero() {
				continue
			}
			mu.Lock()
			if !now.Before(liveFrom) {
				fmt.Fprintf(out, "-- replay done: live from %s --\n", liveFrom.Format("2006-01-02 15:04"))
				mu.Unlock()
				return
			}
			if day := int(now.Sub(o.Start) / (24 * time.Hour)); day != lastDay {
				lastDay = day
				fmt.Fprintf(out, "-- replaying day %d of %d (%s) --\n", day+1, int((o.Replay+24*time.Hour-1)/(24*time.Hour)), now.Format("2006-01-02"))
			}
			mu.Unlock()
		}
	}()
	return func() { close(done); <-finished }
}

// registerDemoFleet creates the fleet's groups and things and applies the
// recommended profile to all of them.
func registerDemoFleet(a *app.App, fleet *sim.Fleet) error {
	svc := a.Service()
	for _, g := range fleet.Groups() {
		if _, err := svc.CreateGroup(registry.Group{Name: g.Name, Parent: g.Parent}); err != nil && !errors.Is(err, registry.ErrExists) {
			return fmt.Errorf("create group %s: %w", g.Name, err)
		}
	}
	for _, t := range fleet.Things() {
		if _, err := svc.CreateThing(t.Name, map[string]string{"city": t.City, "factory": t.Factory}, ""); err != nil && !errors.Is(err, registry.ErrExists) {
			return fmt.Errorf("create thing %s: %w", t.Name, err)
		}
		if err := svc.AddThingToGroup(t.Factory, t.Name); err != nil {
			return fmt.Errorf("add %s to %s: %w", t.Name, t.Factory, err)
		}
	}
	var p registry.Profile
	if err := json.Unmarshal(demoProfile, &p); err != nil {
		return fmt.Errorf("recommended profile: %w", err)
	}
	if _, err := svc.CreateProfile(p); err != nil && !errors.Is(err, registry.ErrExists) {
		return fmt.Errorf("recommended profile: %w", err)
	}
	if err := svc.Attach(p.Name, registry.AllThings); err != nil {
		return fmt.Errorf("attach the recommended profile: %w", err)
	}
	return nil
}

func citiesOf(fleet *sim.Fleet) map[string]bool {
	cities := map[string]bool{}
	for _, g := range fleet.Groups() {
		if g.Parent == "" {
			cities[g.Name] = true
		}
	}
	return cities
}

// printAlarms prints each in-alarm event as one line: the simulated time,
// the thing, the behavior and the value.
func printAlarms(a *app.App, out io.Writer, mu *sync.Mutex) error {
	return a.Subscribe(proto.ViolationsRoot+"/#", func(_ string, payload []byte) {
		var ev proto.ViolationEvent
		if json.Unmarshal(payload, &ev) != nil || ev.ViolationEventType != proto.InAlarm {
			return
		}
		value := ""
		if mv := ev.MetricValue; mv != nil {
			switch {
			case mv.Count != nil:
				value = fmt.Sprint(*mv.Count)
			case mv.Ports != nil:
				value = fmt.Sprint(mv.Ports)
			case mv.Cidrs != nil:
				value = shortList(mv.Cidrs, 4)
			}
		}
		if th := ev.StatisticalThreshold; th != nil {
			value += fmt.Sprintf(" (threshold %.0f = %s x factor over %d devices)", th.Value, th.Statistic, th.Population)
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "%s  ALARM  %-24s %-26s %s\n", time.UnixMilli(ev.ViolationEventTime).UTC().Format("2006-01-02 15:04"),
			ev.ThingName, ev.Behavior.Name, value)
	})
}

// shortList prints at most n elements of a list, and how many it left out.
func shortList(list []string, n int) string {
	if len(list) <= n {
		return fmt.Sprint(list)
	}
	return fmt.Sprintf("%v (+%d more)", list[:n], len(list)-n)
}

// runFleet drives the simulated fleet over MQTT as the fleet identity until
// ctx ends.
func runFleet(ctx context.Context, a *app.App, fleet *sim.Fleet, password string, o demoOptions) error {
	pub, err := sim.DialMQTT(ctx, sim.MQTTOptions{Broker: "mqtt://" + a.MQTTAddr(), Username: app.FleetUser, Password: password,
		Root: proto.RootAWS, Logger: o.fleet.Logger})
	if err != nil {
		return err
	}
	defer pub.Close()
	if err := fleet.Run(ctx, pub); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// randomSecret returns a random password for the demo's MQTT identities.
func randomSecret() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
