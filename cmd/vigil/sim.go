package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// Defaults of `vigil sim` that the sim package leaves to its caller.
const (
	defaultSimBroker   = "mqtt://127.0.0.1:1883"
	defaultSimDuration = 24 * time.Hour
	// registerWorkers is the number of API requests in flight at once
	// while registering the fleet.
	registerWorkers = 8
	// replyQuiet is how long the simulator waits for a missing reply
	// before it gives up on it.
	replyQuiet = 5 * time.Second
)

func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulate a fleet of ID-card scanners reporting to a broker",
		Long: "sim publishes the reports of a simulated fleet of ID-card scanners (factories in several cities,\n" +
			"daily traffic peaks at 8:00 and 20:00 local time, reboots, outages) and injects incidents: DDoS, spam\n" +
			"relay, command and control, backdoor, slow exfiltration, and outage bursts that are not incidents.\n" +
			"Report ids carry simulated time: run the server with --time-source report. --truth writes what\n" +
			"was injected, and when, as JSON lines.",
		Example: "  vigil serve --time-source report --fleet-password s3cret &\n" +
			"  VIGIL_PASSWORD=s3cret vigil sim --devices 10000 --replay 14d --incident-rate 2 --truth truth.jsonl\n" +
			"  vigil sim --per-device --devices 20 --speed 1 --duration 0",
		Args: cobraArgs(cobra.NoArgs),
		RunE: runSim,
	}
	addSimFlags(cmd.Flags())
	return cmd
}

func addSimFlags(f *pflag.FlagSet) {
	f.String("config", "", "YAML file of flag values (keys are flag names); flags and VIGIL_<FLAG> win over it")
	f.String("broker", defaultSimBroker, "broker URL (mqtt://, mqtts://, ws://, wss://)")
	f.Int("devices", sim.DefaultDevices, "number of scanners")
	f.Int("cities", sim.DefaultCities, fmt.Sprintf("number of cities (1 to %d)", len(sim.Cities)))
	f.Int("scanners-per-factory", sim.DefaultScannersPerFactory, "doors, and so scanners, per factory")
	f.Uint64("seed", 1, "seed of the simulation: the same seed gives the same reports")
	f.Float64("speed", sim.DefaultSpeed, "simulated seconds per wall second after the replay (300: one 5-minute interval per second)")
	zeroSpanFlag(f, "replay", 0, "first publish this much simulated time as fast as the broker takes it, e.g. 336h or 14d")
	f.String("start", "", "simulated time of the first report, RFC 3339 (default: now minus --replay)")
	zeroSpanFlag(f, "duration", defaultSimDuration, "simulated time to run, replay included; 0: until interrupted")
	f.String("incidents", "", "JSON or YAML file of incidents to inject")
	f.Float64("incident-rate", 0, "generated incidents of each kind per 1,000 device-days (0: none)")
	f.String("truth", "", "file to write the ground truth to, as JSON lines")
	f.String("username", "", "MQTT username (default "+app.FleetUser+" for the pool, none with --per-device)")
	f.String("password", "", "MQTT password (prefer VIGIL_PASSWORD)")
	f.Int("connections", sim.DefaultConnections, "MQTT connections of the pool")
	f.Int("window", sim.DefaultWindow, "unacknowledged publishes per connection")
	f.Bool("per-device", false, "one MQTT connection per thing, with the thing name as client id, instead of a pool")
	f.String("format", "json", "report encoding: json, cbor or msgpack")
	f.String("topic-root", proto.RootAWS, "topic root: $aws or $vigil")
	f.Bool("check-replies", false, "subscribe to the replies and count accepted and rejected reports")
	f.Bool("register", false, "first create the thing groups and things through the HTTP API (with --per-device, things get --password)")
	f.String("api", defaultAPI, "URL of the Vigil server's HTTP API, for --register (env VIGIL_API)")
	addAPIAuthFlags(f)
	f.Duration("progress", sim.DefaultProgressInterval, "time between progress lines")
}

// zeroSpan is a spanValue that may also be zero ("0", "0s").
type zeroSpan struct{ spanValue }

func (d *zeroSpan) Set(s string) error {
	if v, err := time.ParseDuration(s); err == nil && v == 0 {
		d.spanValue = 0
		return nil
	}
	return d.spanValue.Set(s)
}

func zeroSpanFlag(f *pflag.FlagSet, name string, def time.Duration, usage string) {
	f.Var(&zeroSpan{spanValue(def)}, name, usage)
}

func runSim(cmd *cobra.Command, _ []string) error {
	if err := applyConfig(cmd); err != nil {
		return err
	}
	log, err := newLogger(cmd)
	if err != nil {
		return err
	}
	log = log.With().Str("component", "sim").Logger()
	f := cmd.Flags()
	opts, err := simOptions(f, time.Now())
	if err != nil {
		return err
	}
	opts.Logger = log
	truth, err := createTruth(mustString(f, "truth"))
	if err != nil {
		return err
	}
	if truth != nil {
		defer truth.Close()
		opts.Truth = truth
	}
	fleet, err := sim.New(opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if on, _ := f.GetBool("register"); on {
		if err := registerFleet(ctx, f, fleet, log); err != nil {
			return err
		}
	}
	if err := simulate(ctx, f, fleet, log); err != nil {
		return err
	}
	if truth != nil {
		if err := truth.Close(); err != nil {
			return fmt.Errorf("close ground truth file: %w", err)
		}
	}
	return nil
}

func createTruth(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create ground truth file: %w", err)
	}
	return file, nil
}

// simOptions reads the flags into the simulator's options.
func simOptions(f *pflag.FlagSet, now time.Time) (sim.Options, error) {
	var o sim.Options
	o.Devices, _ = f.GetInt("devices")
	o.Cities, _ = f.GetInt("cities")
	o.ScannersPerFactory, _ = f.GetInt("scanners-per-factory")
	o.Seed, _ = f.GetUint64("seed")
	o.Speed, _ = f.GetFloat64("speed")
	o.IncidentRate, _ = f.GetFloat64("incident-rate")
	o.ProgressInterval, _ = f.GetDuration("progress")
	o.Replay, o.Duration = getZeroSpan(f, "replay"), getZeroSpan(f, "duration")
	o.Root = mustString(f, "topic-root")
	for _, c := range []struct {
		ok   bool
		what string
	}{
		{o.Devices > 0, "--devices must be positive"},
		{o.Cities > 0 && o.Cities <= len(sim.Cities), fmt.Sprintf("--cities must be within 1..%d", len(sim.Cities))},
		{o.ScannersPerFactory > 0, "--scanners-per-factory must be positive"},
		{o.Speed > 0, "--speed must be positive"},
		{o.IncidentRate >= 0, "--incident-rate must not be negative"},
		{o.ProgressInterval > 0, "--progress must be positive"},
	} {
		if !c.ok {
			return o, usageErrorf("%s", c.what)
		}
	}
	var err error
	if o.Format, err = proto.ParseFormat(mustString(f, "format")); err != nil {
		return o, usageErrorf("--format: %v", err)
	}
	if o.Start, err = simStart(f, now, o.Replay); err != nil {
		return o, err
	}
	if o.Incidents, err = readIncidents(mustString(f, "incidents"), o.Start); err != nil {
		return o, err
	}
	return o, nil
}

func getZeroSpan(f *pflag.FlagSet, name string) time.Duration {
	return time.Duration(f.Lookup(name).Value.(*zeroSpan).spanValue)
}

// simStart reads --start, or takes now minus the replay.
func simStart(f *pflag.FlagSet, now time.Time, replay time.Duration) (time.Time, error) {
	s := mustString(f, "start")
	if s == "" {
		return now.Add(-replay).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, usageErrorf("--start %q: want an RFC 3339 time such as 2026-03-02T00:00:00Z", s)
	}
	return t.UTC(), nil
}

// readIncidents reads an incidents file, JSON or YAML.
func readIncidents(path string, start time.Time) ([]sim.Incident, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read incidents: %w", err)
	}
	doc, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("incidents file %s: %w", path, err)
	}
	in, err := sim.ParseIncidents(doc, start)
	if err != nil {
		return nil, fmt.Errorf("incidents file %s: %w", path, err)
	}
	return in, nil
}

// simulate connects, runs the fleet, waits for the replies, and logs the
// outcome. An interrupt ends the run without an error.
func simulate(ctx context.Context, f *pflag.FlagSet, fleet *sim.Fleet, log zerolog.Logger) error {
	pub, err := dialSim(ctx, f, fleet, log)
	if err != nil {
		return err
	}
	defer pub.Close()
	opts := fleet.Options()
	log.Info().Int("things", fleet.Len()).Str("start", opts.Start.Format(time.RFC3339)).Str("replay", opts.Replay.String()).
		Float64("speed", opts.Speed).Msg("simulation started")
	began := time.Now()
	runErr := fleet.Run(ctx, pub)
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	counts := pub.Counts()
	if checking, _ := f.GetBool("check-replies"); checking {
		counts = pub.WaitReplies(context.Background(), replyQuiet)
	}
	logDone(log, fleet.Stats(), counts, time.Since(began))
	if runErr != nil {
		return runErr
	}
	if counts.Rejected > 0 {
		return fmt.Errorf("%d of %d reports rejected; the first: %s", counts.Rejected, counts.Published, pub.Rejection())
	}
	return nil
}

// dialSim opens the pool, or a connection per thing.
func dialSim(ctx context.Context, f *pflag.FlagSet, fleet *sim.Fleet, log zerolog.Logger) (*sim.MQTTPublisher, error) {
	o := sim.MQTTOptions{
		Broker: mustString(f, "broker"), Username: mustString(f, "username"), Password: mustString(f, "password"),
		Root: fleet.Options().Root, Format: fleet.Options().Format, Logger: log,
	}
	o.Connections, _ = f.GetInt("connections")
	o.Window, _ = f.GetInt("window")
	o.CheckReplies, _ = f.GetBool("check-replies")
	if o.Connections <= 0 || o.Window <= 0 {
		return nil, usageErrorf("--connections and --window must be positive")
	}
	if perDevice, _ := f.GetBool("per-device"); perDevice {
		for _, th := range fleet.Things() {
			o.Things = append(o.Things, th.Name)
		}
	} else if o.Username == "" {
		o.Username = app.FleetUser
	}
	return sim.DialMQTT(ctx, o)
}

// logDone logs the outcome of a run.
func logDone(log zerolog.Logger, st sim.Stats, c sim.Counts, wall time.Duration) {
	ev := log.Info().Int64("reports", st.Reports).Int64("late", st.Late).Int64("held", st.Held).
		Int64("published", c.Published).Int64("acked", c.Acknowledged).Int64("failed", c.Failed).
		Int64("accepted", c.Accepted).Int64("rejected", c.Rejected).
		Str("wall", wall.Round(time.Millisecond).String()).Int("reports_per_s", int(float64(st.Reports)/wall.Seconds()))
	if !st.SimTime.IsZero() {
		ev = ev.Str("sim_time", st.SimTime.Format(time.RFC3339))
	}
	ev.Msg("simulation done")
}

// registerFleet creates the fleet's groups, parents first, then its things
// and their memberships, through the HTTP API. What exists already is left
// as it is, so a second run registers nothing new.
func registerFleet(ctx context.Context, f *pflag.FlagSet, fleet *sim.Fleet, log zerolog.Logger) error {
	api, err := newAPIClient(mustString(f, "api"))
	if err != nil {
		return err
	}
	if err := api.authenticate(f); err != nil {
		return err
	}
	for _, g := range fleet.Groups() {
		body := map[string]any{}
		if g.Parent != "" {
			body["parentGroupName"] = g.Parent
		}
		if _, err := api.post(ctx, apiPath("thing-groups", g.Name), nil, body); ignoreExists(err) != nil {
			return fmt.Errorf("register group %s: %w", g.Name, err)
		}
	}
	var thingPassword string
	if perDevice, _ := f.GetBool("per-device"); perDevice {
		thingPassword = mustString(f, "password")
	}
	began := time.Now()
	if err := registerThings(ctx, api, fleet.Things(), thingPassword); err != nil {
		return err
	}
	log.Info().Int("groups", len(fleet.Groups())).Int("things", fleet.Len()).Str("took", time.Since(began).Round(time.Millisecond).String()).Msg("fleet registered")
	return nil
}

// registerThings creates the things and adds each to its factory group,
// with a few requests in flight at once; the first failure stops it.
func registerThings(ctx context.Context, api *apiClient, things []sim.Thing, password string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range registerWorkers {
		wg.Go(func() {
			for n := next.Add(1) - 1; n < int64(len(things)) && ctx.Err() == nil; n = next.Add(1) - 1 {
				if err := registerThing(ctx, api, things[n], password); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

func registerThing(ctx context.Context, api *apiClient, th sim.Thing, password string) error {
	body := map[string]any{"attributePayload": map[string]any{"attributes": map[string]string{"city": th.City, "factory": th.Factory}}}
	if password != "" {
		body["password"] = password
	}
	if _, err := api.post(ctx, apiPath("things", th.Name), nil, body); ignoreExists(err) != nil {
		return fmt.Errorf("register thing %s: %w", th.Name, err)
	}
	member := map[string]string{"thingGroupName": th.Factory, "thingName": th.Name}
	if _, err := api.put(ctx, apiPath("thing-groups", "addThingToThingGroup"), nil, member); err != nil {
		return fmt.Errorf("add thing %s to group %s: %w", th.Name, th.Factory, err)
	}
	return nil
}

// ignoreExists drops the API's answer that the resource exists already.
func ignoreExists(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return nil
	}
	return err
}
