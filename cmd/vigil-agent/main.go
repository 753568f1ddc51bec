// Command vigil-agent is Vigil's device agent: it reports the host's network
// state to the thing's Device Defender report topic at a fixed interval.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/agent"
	"github.com/vigil-iot/vigil/proto"
)

// config holds the command line.
type config struct {
	broker, thing, format, topicRoot  string
	username, password, ca, cert, key string
	customFile, customCommand         string
	logLevel, logFormat               string
	interval, onceWindow              time.Duration
	shortNames, once, insecure        bool
	showVersion                       bool
}

// version is set at build time by scripts/build-agent.
var version = "dev"

// errUsage marks a bad command line (exit code 2).
var errUsage = errors.New("usage")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "vigil-agent:", strings.TrimPrefix(err.Error(), "usage: "))
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "vigil-agent:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line and the VIGIL_<FLAG> environment
// variables. --help prints the usage to stdout; a bad command line is one
// errUsage error, without the usage text.
func parseFlags(args []string, stdout io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("vigil-agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.broker, "broker", "mqtt://127.0.0.1:1883", "broker URL (mqtt://, mqtts://, ws://, wss://)")
	fs.StringVar(&c.thing, "thing", "", "thing name, also the MQTT client id (default: the host name)")
	fs.DurationVar(&c.interval, "interval", agent.DefaultInterval, "time between reports")
	c.format, c.topicRoot, c.logLevel, c.logFormat = "json", proto.RootVigil, "info", "console"
	fs.Var(choice{&c.format, checkFormat}, "format", "report `encoding`: json, cbor or msgpack")
	fs.BoolVar(&c.shortNames, "short-names", false, "write the short key names (hed, met, ...)")
	fs.Var(choice{&c.topicRoot, oneOf(proto.RootVigil, proto.RootAWS)}, "topic-root", "topic `root`: $vigil or $aws")
	fs.BoolVar(&c.once, "once", false, "collect one report, print it as JSON and exit without publishing")
	fs.DurationVar(&c.onceWindow, "once-window", time.Second, "with --once, the time over which traffic is measured")
	fs.StringVar(&c.username, "username", "", "MQTT user name (default: the thing name when a password is set)")
	fs.StringVar(&c.password, "password", "", "MQTT password (prefer the VIGIL_PASSWORD environment variable)")
	fs.StringVar(&c.ca, "ca", "", "PEM file of CA certificates that sign the broker's certificate")
	fs.StringVar(&c.cert, "cert", "", "PEM file of the thing's client certificate")
	fs.StringVar(&c.key, "key", "", "PEM file of the thing's private key")
	fs.BoolVar(&c.insecure, "insecure", false, "do not verify the broker's certificate (testing only)")
	fs.StringVar(&c.customFile, "custom-metrics-file", "", "file of custom metrics, read for every report")
	fs.StringVar(&c.customCommand, "custom-metrics-command", "", "shell command printing custom metrics, run for every report")
	fs.Var(choice{&c.logLevel, oneOf("debug", "info", "warn", "error")}, "log-level", "log `level`: debug, info, warn, error")
	fs.Var(choice{&c.logFormat, oneOf("console", "json")}, "log-format", "log `format`: console or json")
	fs.BoolVar(&c.showVersion, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: vigil-agent --broker URL --thing NAME [flags]\n\nEvery flag can also be set with VIGIL_<FLAG> (VIGIL_BROKER, VIGIL_SHORT_NAMES, ...).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := applyEnv(fs); err != nil {
		return c, err
	}
	return c, c.check()
}

// applyEnv sets every flag not given on the command line from VIGIL_<FLAG>.
func applyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "VIGIL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && !given[f.Name] && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%w: %s=%q: %v", errUsage, name, v, e)
			}
		}
	})
	return err
}

func (c *config) check() error {
	if c.interval < time.Second {
		return fmt.Errorf("%w: --interval %v is shorter than 1s", errUsage, c.interval)
	}
	if c.customFile != "" && c.customCommand != "" {
		return fmt.Errorf("%w: give --custom-metrics-file or --custom-metrics-command, not both", errUsage)
	}
	if c.thing == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("%w: --thing is required (no host name: %v)", errUsage, err)
		}
		c.thing = host
	}
	if err := proto.ValidateThingName(c.thing); err != nil {
		return fmt.Errorf("%w: --thing: %v", errUsage, err)
	}
	if c.password != "" && c.username == "" {
		c.username = c.thing
	}
	return nil
}

// choice is a string flag that takes only the values check accepts, so
// that a bad value is refused with the name of the flag or environment
// variable that gave it.
type choice struct {
	value *string
	check func(string) error
}

func (c choice) String() string {
	if c.value == nil {
		return ""
	}
	return *c.value
}

func (c choice) Set(s string) error {
	if err := c.check(s); err != nil {
		return err
	}
	*c.value = s
	return nil
}

func checkFormat(s string) error {
	_, err := proto.ParseFormat(s)
	return err
}

// oneOf accepts the given values only.
func oneOf(values ...string) func(string) error {
	return func(s string) error {
		if slices.Contains(values, s) {
			return nil
		}
		return fmt.Errorf("want %s", strings.Join(values, ", "))
	}
}

func newLogger(c config, stderr io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(c.logLevel)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("%w: --log-level: %v", errUsage, err)
	}
	var w io.Writer = stderr
	switch c.logFormat {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.RFC3339, NoColor: !isTerminal(stderr)}
	default:
		return zerolog.Nop(), fmt.Errorf("%w: --log-format %q: want console or json", errUsage, c.logFormat)
	}
	return zerolog.New(w).Level(level).With().Timestamp().Str("thing", c.thing).Logger(), nil
}

// isTerminal reports whether w is a terminal. Colours are for people at a
// terminal; in journald or a log file they are escape-code noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	if c.showVersion {
		_, err := fmt.Fprintln(stdout, "vigil-agent", version)
		return err
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	format, _ := proto.ParseFormat(c.format)
	keys := proto.LongKeys
	if c.shortNames {
		keys = proto.ShortKeys
	}
	opts := agent.Options{Thing: c.thing, Interval: c.interval, Format: format, Keys: keys, TopicRoot: c.topicRoot, Logger: log}
	switch {
	case c.customFile != "":
		opts.Custom = agent.FileSource{Path: c.customFile}
	case c.customCommand != "":
		opts.Custom = agent.CommandSource{Command: c.customCommand}
	}
	a, err := agent.New(opts)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.once {
		return printOnce(ctx, a, c.onceWindow, keys, stdout)
	}
	return publish(ctx, a, c, format, log)
}

// printOnce measures traffic over window and prints one report as JSON.
func printOnce(ctx context.Context, a *agent.Agent, window time.Duration, keys proto.KeyStyle, stdout io.Writer) error {
	if _, err := a.NextReport(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(window):
	}
	r, err := a.NextReport(ctx)
	if err != nil {
		return err
	}
	data, err := proto.Encode(r, proto.JSON, keys)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = stdout.Write(out.Bytes())
	return err
}

func publish(ctx context.Context, a *agent.Agent, c config, format proto.Format, log zerolog.Logger) error {
	mqttLog := printfLogger{log.With().Str("component", "mqtt").Logger()}
	mqtt.ERROR, mqtt.CRITICAL = mqttLog, mqttLog
	client, err := agent.DialMQTT(agent.MQTTOptions{
		Broker: c.broker, Thing: c.thing, Username: c.username, Password: c.password,
		CAFile: c.ca, CertFile: c.cert, KeyFile: c.key, Insecure: c.insecure,
		Replies: proto.ThingReplyFilter(c.topicRoot, c.thing, format), Format: format,
		Logger: log.With().Str("component", "mqtt").Logger(),
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	defer client.Close()
	log.Info().Str("broker", c.broker).Str("topic", a.Topic()).Dur("interval", c.interval).Msg("reporting")
	waitConnected(ctx, client, 5*time.Second)
	return a.Run(ctx, client)
}

// waitConnected gives the first connection a moment, so that the first
// report is not lost to a connection still being made.
func waitConnected(ctx context.Context, c *agent.MQTTClient, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for !c.Connected() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
}

// printfLogger sends the MQTT library's own error logs to zerolog.
type printfLogger struct{ log zerolog.Logger }

func (l printfLogger) Println(v ...any) { l.log.Error().Msg(strings.TrimSpace(fmt.Sprintln(v...))) }

func (l printfLogger) Printf(format string, v ...any) { l.log.Error().Msgf(format, v...) }
