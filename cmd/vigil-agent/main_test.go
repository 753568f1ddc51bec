package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/internal/mosquittotest"
	"github.com/vigil-iot/vigil/proto"
)

// These tests run the agent as users do: a binary built the way
// scripts/build-agent builds it, started as a process.

// runTimeout bounds one run of the agent binary.
const runTimeout = 30 * time.Second

// binDir holds the binaries built for the tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-agent-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// target is a platform to build the agent for.
type target struct{ goarch, goarm string }

func (t target) String() string { return "linux-" + t.goarch + t.goarm }

var (
	buildMu sync.Mutex
	builds  = map[target]*build{}
)

type build struct {
	once sync.Once
	path string
	err  error
}

// binary builds the agent for a target once per test run and returns its
// path; an empty goarch means the host.
func binary(t *testing.T, tg target) string {
	t.Helper()
	buildMu.Lock()
	b, ok := builds[tg]
	if !ok {
		b = &build{}
		builds[tg] = b
	}
	buildMu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(tg) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// goBuild builds a static agent binary, with the flags of scripts/build-agent.
func goBuild(tg target) (string, error) {
	out := filepath.Join(binDir, "vigil-agent-"+tg.String())
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if tg.goarch != "" {
		cmd.Env = append(cmd.Env, "GOARCH="+tg.goarch, "GOARM="+tg.goarm)
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build agent for %v: %w\n%s", tg, err, msg)
	}
	return out, nil
}

var host = target{}

// result is how a run of the agent ended.
type result struct {
	code           int
	stdout, stderr string
}

// command prepares a run of the agent; env adds VIGIL_ variables to an
// environment cleared of the developer's own.
func command(ctx context.Context, argv []string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VIGIL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// runBinary runs the agent to its end.
func runBinary(t *testing.T, argv []string, env ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := command(ctx, argv, env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", argv, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStdout string
		wantStderr string // the single line of stderr holds this
	}{
		{name: "help", args: []string{"--help"}, wantStdout: "Usage: vigil-agent"},
		{name: "help lists the environment", args: []string{"-h"}, wantStdout: "VIGIL_<FLAG>"},
		{name: "version", args: []string{"--version"}, wantStdout: "vigil-agent "},
		{name: "bad format", args: []string{"--format", "xml"}, wantCode: 2, wantStderr: `invalid value "xml" for flag -format: unknown report format`},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "bad duration", args: []string{"--interval", "soon"}, wantCode: 2, wantStderr: "-interval"},
		{name: "interval too short", args: []string{"--interval", "10ms"}, wantCode: 2, wantStderr: "shorter than 1s"},
		{name: "stray argument", args: []string{"--thing", "t1", "extra"}, wantCode: 2, wantStderr: `unexpected argument "extra"`},
		{name: "thing with a slash", args: []string{"--thing", "a/b"}, wantCode: 2, wantStderr: "--thing"},
		{name: "unknown topic root", args: []string{"--once", "--thing", "t1", "--topic-root", "$sys"}, wantCode: 2, wantStderr: "-topic-root: want $vigil, $aws"},
		{name: "two custom sources", args: []string{"--custom-metrics-file", "f", "--custom-metrics-command", "c"}, wantCode: 2, wantStderr: "not both"},
		{name: "bad log level", args: []string{"--thing", "t1", "--log-level", "loud"}, wantCode: 2, wantStderr: "-log-level: want debug, info, warn, error"},
		{name: "bad broker scheme", args: []string{"--thing", "t1", "--broker", "http://127.0.0.1:1"}, wantCode: 2, wantStderr: `unknown scheme "http"`},
		// The environment is read like the command line, and a bad value
		// is named by its variable.
		{name: "bad environment value", env: []string{"VIGIL_FORMAT=xml"}, wantCode: 2, wantStderr: `VIGIL_FORMAT="xml": unknown report format`},
		{name: "bad boolean in the environment", env: []string{"VIGIL_SHORT_NAMES=maybe"}, wantCode: 2, wantStderr: "VIGIL_SHORT_NAMES"},
		{name: "flag beats environment", args: []string{"--version", "--format", "json"}, env: []string{"VIGIL_FORMAT=xml"},
			wantStdout: "vigil-agent "},
	}
	bin := binary(t, host)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, append([]string{bin}, tt.args...), tt.env...)
			if r.code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantStdout) {
				t.Errorf("stdout %q does not hold %q", r.stdout, tt.wantStdout)
			}
			if tt.wantStderr == "" {
				return
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "vigil-agent: ") || !strings.Contains(lines[0], tt.wantStderr) {
				t.Errorf("stderr %q: want one line \"vigil-agent: ...\" holding %q", r.stderr, tt.wantStderr)
			}
		})
	}
}

// decodeOnce decodes the report an --once run printed.
func decodeOnce(t *testing.T, r result) *proto.Report {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", r.code, r.stderr)
	}
	rep, err := proto.Decode(proto.JSON, []byte(r.stdout))
	if err != nil {
		t.Fatalf("--once printed a report that does not decode: %v\n%s", err, r.stdout)
	}
	if rep.Header.ReportID <= 0 || rep.Metrics == nil || rep.Metrics.ListeningTCPPorts == nil ||
		rep.Metrics.ListeningUDPPorts == nil || rep.Metrics.TCPConnections == nil {
		t.Fatalf("--once report lacks parts:\n%s", r.stdout)
	}
	// --once measures traffic over --once-window, so it has some.
	if rep.Metrics.NetworkStats == nil {
		t.Errorf("--once report has no network_stats:\n%s", r.stdout)
	}
	return rep
}

func TestOnceReportsTheHost(t *testing.T) {
	t.Parallel()
	// A listener and a connection of our own are state the report must
	// show: a TCP port listening on loopback and a connection to it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	rep := decodeOnce(t, runBinary(t, []string{binary(t, host), "--once", "--thing", "t1", "--once-window", "300ms"}))
	if !hasPort(rep.Metrics.ListeningTCPPorts, port, "lo") {
		t.Errorf("listening_tcp_ports lacks %d on lo: %+v", port, rep.Metrics.ListeningTCPPorts.Ports)
	}
	if !hasConnectionTo(rep, port) {
		t.Errorf("tcp_connections lacks the connection to 127.0.0.1:%d", port)
	}
}

func hasPort(pl *proto.PortList, port uint16, iface string) bool {
	for _, p := range pl.Ports {
		if p.Port == port && p.Interface == iface {
			return true
		}
	}
	return false
}

func hasConnectionTo(rep *proto.Report, port uint16) bool {
	for _, c := range rep.Metrics.TCPConnections.EstablishedConnections.Connections {
		if c.RemoteAddr.Port() == port && c.RemoteAddr.Addr().String() == "127.0.0.1" {
			return true
		}
	}
	return false
}

func TestOnceOutput(t *testing.T) {
	t.Parallel()
	metrics := filepath.Join(t.TempDir(), "metrics")
	if err := os.WriteFile(metrics, []byte("cpu_usage number 12.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		env       []string
		wantShort bool
		check     func(t *testing.T, rep *proto.Report)
	}{
		// --format chooses the encoding of published reports only; --once
		// prints JSON for people and scripts to read.
		{name: "format from the environment", env: []string{"VIGIL_FORMAT=cbor"}},
		{name: "format flag", args: []string{"--format", "msgpack"}},
		{name: "short names from the environment", env: []string{"VIGIL_SHORT_NAMES=true"}, wantShort: true},
		{name: "custom metrics file", args: []string{"--custom-metrics-file", metrics}, check: func(t *testing.T, rep *proto.Report) {
			if v, ok := rep.Custom("cpu_usage"); !ok || v.Number != 12.5 {
				t.Errorf("custom metrics %v, want cpu_usage 12.5", rep.CustomMetrics)
			}
		}},
		{name: "custom metrics command", args: []string{"--custom-metrics-command", `echo '{"users": [{"string_list": ["root"]}]}'`},
			check: func(t *testing.T, rep *proto.Report) {
				if v, _ := rep.Custom("users"); len(v.Strings) != 1 || v.Strings[0] != "root" {
					t.Errorf("custom metrics %v, want users [root]", rep.CustomMetrics)
				}
			}},
		// A broken custom metric source costs the custom metrics only.
		{name: "failing custom metrics command", args: []string{"--custom-metrics-command", "exit 1"}, check: func(t *testing.T, rep *proto.Report) {
			if len(rep.CustomMetrics) != 0 {
				t.Errorf("custom metrics %v, want none", rep.CustomMetrics)
			}
		}},
	}
	bin := binary(t, host)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, append([]string{bin, "--once", "--thing", "t1", "--once-window", "100ms"}, tt.args...), tt.env...)
			rep := decodeOnce(t, r)
			if short := !strings.Contains(r.stdout, `"header"`); short != tt.wantShort {
				t.Errorf("short key names = %v, want %v:\n%s", short, tt.wantShort, r.stdout)
			}
			if tt.check != nil {
				tt.check(t, rep)
			}
		})
	}
}

// reportSink subscribes to every report topic of a broker.
type reportSink struct {
	ch chan sunk
}

type sunk struct {
	topic   proto.ReportTopic
	payload []byte
}

func subscribe(t *testing.T, b *mosquittotest.Broker) *reportSink {
	t.Helper()
	s := &reportSink{ch: make(chan sunk, 100)}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("sink"))
	if tok := c.Connect(); !tok.WaitTimeout(runTimeout) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	tok := c.Subscribe(proto.ReportFilter(proto.RootVigil), 1, func(_ mqtt.Client, m mqtt.Message) {
		if topic, err := proto.ParseReportTopic(m.Topic()); err == nil && topic.Reply == proto.NoReply {
			s.ch <- sunk{topic: topic, payload: m.Payload()}
		}
	})
	if !tok.WaitTimeout(runTimeout) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// await waits for n reports and checks their topic and encoding.
func (s *reportSink) await(t *testing.T, n int, thing string, format proto.Format) {
	t.Helper()
	var last int64
	for i := range n {
		select {
		case m := <-s.ch:
			if m.topic.Thing != thing || m.topic.Format != format {
				t.Fatalf("report on %v, want thing %s in %v", m.topic, thing, format)
			}
			rep, err := proto.Decode(format, m.payload)
			if err != nil {
				t.Fatalf("report %d does not decode as %v: %v", i, format, err)
			}
			if rep.Header.ReportID <= last {
				t.Errorf("report %d has id %d after %d", i, rep.Header.ReportID, last)
			}
			last = rep.Header.ReportID
		case <-time.After(runTimeout):
			t.Fatalf("%d of %d reports arrived within %v", i, n, runTimeout)
		}
	}
}

// publishRun runs the agent against a broker until n reports arrived,
// then stops it with SIGTERM and checks that it exits 0.
func publishRun(t *testing.T, argv []string, env []string, n int, thing string, format proto.Format) {
	t.Helper()
	b := mosquittotest.Start(t)
	sink := subscribe(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*runTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := command(ctx, argv, append(env, "VIGIL_BROKER="+b.URL())...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sink.await(t, n, thing, format)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent stopped with SIGTERM: %v; stderr:\n%s", err, stderr.String())
	}
	// Logs that go to a file or journald carry no colour escape codes.
	if strings.Contains(stderr.String(), "\x1b[") {
		t.Errorf("log to a pipe holds terminal escape codes:\n%q", stderr.String())
	}
}

func TestPublishUntilSIGTERM(t *testing.T) {
	t.Parallel()
	// The format comes from the environment this time, and publishing
	// must honour it, unlike --once.
	argv := []string{binary(t, host), "--thing", "cmd-publish", "--interval", "1s"}
	publishRun(t, argv, []string{"VIGIL_FORMAT=cbor"}, 2, "cmd-publish", proto.CBOR)
}

// emulated is an ARM platform and the qemu user-mode emulator that runs it.
var emulated = []struct {
	target target
	qemu   string
}{
	{target{"arm", "7"}, "qemu-arm-static"},
	{target{"arm64", ""}, "qemu-aarch64-static"},
}

func qemu(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		mosquittotest.Require(t, name+" is not installed (apt-get install qemu-user-static)")
	}
	return path
}

func TestARMUnderEmulation(t *testing.T) {
	t.Parallel()
	for _, e := range emulated {
		t.Run(e.target.String(), func(t *testing.T) {
			t.Parallel()
			emu := qemu(t, e.qemu)
			decodeOnce(t, runBinary(t, []string{emu, binary(t, e.target), "--once", "--thing", "armtest", "--once-window", "200ms"}))
		})
	}
}

func TestARMv7Publishes(t *testing.T) {
	t.Parallel()
	armv7 := emulated[0]
	argv := []string{qemu(t, armv7.qemu), binary(t, armv7.target), "--thing", "armv7", "--interval", "1s"}
	publishRun(t, argv, nil, 1, "armv7", proto.JSON)
}
