package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/sim"
)

// simStart is a fixed simulated start, so that runs are reproducible.
const simStart0 = "2026-03-02T06:00:00Z"

// startServer runs `vigil serve --time-source report` in-process.
func startServer(t *testing.T, o app.Options) *app.App {
	t.Helper()
	o.MQTTAddr, o.HTTPAddr, o.DataDir, o.ReportTime, o.Logger = "127.0.0.1:0", "127.0.0.1:0", t.TempDir(), true, zerolog.Nop()
	a, err := app.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// simDone is the last line `vigil sim` logs.
type simDone struct {
	Reports   int64 `json:"reports"`
	Published int64 `json:"published"`
	Acked     int64 `json:"acked"`
	Failed    int64 `json:"failed"`
	Accepted  int64 `json:"accepted"`
	Rejected  int64 `json:"rejected"`
}

// doneLine finds the outcome in the JSON log of a run.
func doneLine(t *testing.T, stderr string) simDone {
	t.Helper()
	for line := range strings.SplitSeq(stderr, "\n") {
		var d struct {
			simDone
			Msg string `json:"message"`
		}
		if json.Unmarshal([]byte(line), &d) == nil && d.Msg == "simulation done" {
			return d.simDone
		}
	}
	t.Fatalf("no outcome in the log:\n%s", stderr)
	return simDone{}
}

// TestSimEndToEnd runs `vigil sim` as the fleet identity against a real
// server for two simulated hours (one replayed, one paced at high speed),
// with registration, generated incidents and the ground truth: every
// published report is accepted.
func TestSimEndToEnd(t *testing.T) {
	a := startServer(t, app.Options{FleetPassword: "fleet-secret"})
	truth := filepath.Join(t.TempDir(), "truth.jsonl")
	t.Setenv("VIGIL_PASSWORD", "fleet-secret")
	code, _, stderr := runCLI(t, "", "sim", "--broker", "mqtt://"+a.MQTTAddr(), "--devices", "50", "--scanners-per-factory", "10",
		"--start", simStart0, "--replay", "1h", "--duration", "2h", "--speed", "36000", "--incident-rate", "40",
		"--truth", truth, "--register", "--api", "http://"+a.HTTPAddr(), "--check-replies", "--log-format", "json")
	checkRegistered(t, a)
	checkTruthFile(t, truth)
	if code != 0 && strings.Contains(stderr, app.FleetUser+`\" may not publish reports for`) {
		t.Skipf("the server refuses reports from the fleet identity:\n%s", stderr)
	}
	if code != 0 {
		t.Fatalf("exit code %d:\n%s", code, stderr)
	}
	d := doneLine(t, stderr)
	if d.Reports < 50*22 || d.Published != d.Reports || d.Acked != d.Reports || d.Accepted != d.Reports || d.Failed+d.Rejected != 0 {
		t.Errorf("outcome %+v, want about %d reports, all acknowledged and accepted", d, 50*24)
	}
	if got := a.Service().AcceptedReports(); got != d.Reports {
		t.Errorf("the server accepted %d reports, the simulator published %d", got, d.Reports)
	}
}

// checkRegistered checks the groups and things --register created.
func checkRegistered(t *testing.T, a *app.App) {
	t.Helper()
	reg := a.Service().Registry()
	if n := len(reg.Things()); n != 50 {
		t.Errorf("%d things registered, want 50", n)
	}
	things, err := reg.ThingsInGroup("osaka", true)
	if err != nil || len(things) != 17 {
		t.Errorf("osaka holds %d things (%v), want 17 through its factories", len(things), err)
	}
	if g, _, ok := reg.Group("osaka-f02"); !ok || g.Parent != "osaka" {
		t.Errorf("group osaka-f02: %+v, %v; want a child of osaka", g, ok)
	}
}

// checkTruthFile reads the ground truth: JSON lines of events within the
// run.
func checkTruthFile(t *testing.T, path string) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	start, _ := time.Parse(time.RFC3339, simStart0)
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var rec sim.TruthRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("truth line %q: %v", sc.Text(), err)
		}
		end, err := time.Parse(time.RFC3339, rec.End)
		if err != nil || rec.Thing == "" || !end.After(start) {
			t.Errorf("truth line %q: outside the run or incomplete", sc.Text())
		}
	}
}

// TestSimPerDevice connects each thing on its own to a server that admits
// anonymous devices, with an incidents file in YAML and CBOR reports.
func TestSimPerDevice(t *testing.T) {
	a := startServer(t, app.Options{AllowAnonymous: true})
	dir := t.TempDir()
	incidents := filepath.Join(dir, "incidents.yaml")
	writeFile(t, incidents, "incidents:\n  - kind: backdoor\n    thing: chicago-f01-door-002\n    start: 30m\n    duration: 1h\n    port: 2323\n")
	truth := filepath.Join(dir, "truth.jsonl")
	code, _, stderr := runCLI(t, "", "sim", "--broker", "mqtt://"+a.MQTTAddr(), "--per-device", "--devices", "9", "--format", "cbor",
		"--start", simStart0, "--replay", "2h", "--duration", "2h", "--incidents", incidents, "--truth", truth,
		"--check-replies", "--log-format", "json")
	if code != 0 {
		t.Fatalf("exit code %d:\n%s", code, stderr)
	}
	d := doneLine(t, stderr)
	if got := a.Service().AcceptedReports(); got != d.Reports || d.Accepted != d.Reports || d.Reports < 9*20 {
		t.Errorf("outcome %+v, server accepted %d; want every report accepted", d, got)
	}
	data, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"thing":"chicago-f01-door-002","kind":"backdoor","start":"2026-03-02T06:30:00Z","end":"2026-03-02T07:30:00Z","incident":true,"port":2323}` + "\n"
	if string(data) != want {
		t.Errorf("truth:\n%s\nwant:\n%s", data, want)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSimUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no devices":       {"--devices", "0"},
		"too many cities":  {"--cities", "40"},
		"bad format":       {"--format", "xml"},
		"bad start":        {"--start", "yesterday"},
		"negative speed":   {"--speed", "-1"},
		"bad replay":       {"--replay", "soon"},
		"an argument":      {"extra"},
		"no connections":   {"--connections", "0", "--broker", "mqtt://127.0.0.1:1"},
		"unknown flag":     {"--devics", "3"},
		"negative rate":    {"--incident-rate", "-2"},
		"bad env variable": {"--seed", "1"},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "bad env variable" {
				t.Setenv("VIGIL_DEVICES", "many")
			}
			code, _, stderr := runCLI(t, "", append([]string{"sim"}, args...)...)
			if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("exit code %d, stderr %q; want 2 and one line", code, stderr)
			}
		})
	}
}

func TestSimErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "- kind: worm\n  thing: lyon-f01-door-001\n  start: 1h\n  duration: 1h\n")
	unknown := filepath.Join(dir, "unknown.yaml")
	writeFile(t, unknown, "- kind: ddos\n  thing: paris-f01-door-001\n  start: 1h\n  duration: 1h\n")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"missing incidents file": {[]string{"--incidents", filepath.Join(dir, "none.yaml")}, "read incidents"},
		"unknown kind":           {[]string{"--incidents", bad}, `unknown kind "worm"`},
		"unknown thing":          {[]string{"--incidents", unknown}, `no thing "paris-f01-door-001"`},
		"no broker":              {[]string{"--broker", "mqtt://127.0.0.1:1", "--connections", "1"}, "connect to mqtt://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", append([]string{"sim", "--start", simStart0}, tc.args...)...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit code %d, stderr %q; want 1 and %q", code, stderr, tc.want)
			}
		})
	}
}
