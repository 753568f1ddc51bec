package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vigil-load:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: vigil-load run|table|port [flags]")
	}
	switch args[0] {
	case "run":
		return runCase(args[1:])
	case "table":
		return printTable(os.Stdout, args[1:])
	case "port":
		return printPort()
	}
	return fmt.Errorf("unknown command %q: want run, table or port", args[0])
}

// runCase parses the flags of one case, runs it and writes its result.
func runCase(args []string) error {
	cfg, out, err := parseRun(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := measure(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, res.summary())
	return writeResult(out, res)
}

func parseRun(args []string) (config, string, error) {
	var c config
	var out string
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&c.Case, "case", "", "name of the case in the table")
	fs.StringVar(&c.Broker, "broker", "", "broker URL the reports go to (mqtt://127.0.0.1:port)")
	fs.StringVar(&c.Username, "username", "", "MQTT username of the publishers (the fleet identity)")
	fs.StringVar(&c.Password, "password", "", "MQTT password of the publishers")
	fs.StringVar(&c.Metrics, "metrics", "", "URL of the server's /metrics: delivered = vigil_reports_accepted_total")
	fs.BoolVar(&c.CountSubscriber, "count-subscriber", false, "delivered = reports received by a QoS 1 subscriber of the report topics")
	fs.StringVar(&c.EventsBroker, "events-broker", "", "broker URL of the violation events (default: --broker); \"none\" measures no latency")
	fs.StringVar(&c.EventsUsername, "events-username", "", "MQTT username of the violation events' subscriber")
	fs.StringVar(&c.EventsPassword, "events-password", "", "MQTT password of the violation events' subscriber")
	fs.StringVar(&c.EventsFilter, "events-filter", "$vigil/violations/#", "topic filter of the violation events")
	fs.Func("pid", "name=PID of a process to measure (repeatable)", c.addProcess)
	fs.IntVar(&c.Devices, "devices", 20_000, "number of simulated devices")
	fs.Float64Var(&c.Violators, "violators", 0.01, "fraction of the devices that alternate violating and normal reports")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the simulated fleet")
	fs.DurationVar(&c.Duration, "duration", 60*time.Second, "how long to publish, at most")
	fs.IntVar(&c.Intervals, "intervals", 0, "report intervals to publish, then stop; 0: until --duration")
	fs.DurationVar(&c.Sample, "sample", 0, "take a sample of progress and memory this often (a soak run); 0: none")
	fs.DurationVar(&c.Drain, "drain", 30*time.Second, "how long to wait after publishing for the deliveries to catch up")
	fs.Float64Var(&c.Rate, "rate", 0, "reports per second to offer; 0: as fast as they are accepted")
	fs.IntVar(&c.Connections, "connections", 8, "MQTT connections of the publishing pool")
	fs.IntVar(&c.Window, "window", 128, "unacknowledged publishes per connection")
	fs.IntVar(&c.Workers, "workers", 4, "goroutines building and publishing reports")
	fs.Int64Var(&c.MaxOutstanding, "max-outstanding", 10_000, "reports published but not yet delivered before publishing waits")
	fs.DurationVar(&c.Ready, "ready", 20*time.Second, "how long to wait for the broker and the metrics to answer")
	c.Start = defaultStart(time.Now())
	fs.StringVar(&out, "out", "", "file to write the result to, as JSON (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return c, "", err
	}
	return c, out, c.validate()
}

// printPort prints a free TCP port on the loopback interface.
func printPort() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

// addProcess reads a --pid value, name=PID.
func (c *config) addProcess(v string) error {
	name, id, ok := strings.Cut(v, "=")
	pid, err := strconv.Atoi(id)
	if !ok || name == "" || err != nil || pid <= 0 {
		return fmt.Errorf("--pid %q: want name=PID", v)
	}
	c.Processes = append(c.Processes, process{Name: name, PID: pid})
	return nil
}
