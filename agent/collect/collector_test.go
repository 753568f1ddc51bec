package collect

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixtureLister() ([]HostInterface, error) {
	return fixtureInterfaces, nil
}

func TestCollectFixture(t *testing.T) {
	c := New(Options{Source: ProcSource{Root: filepath.Join("testdata", "proc")}, Interfaces: fixtureLister})
	got, deltas, first, err := c.Collect(t.Context(), t0)
	if err != nil {
		t.Fatalf("Collect() error = %v", err)
	}
	if !first || deltas != (NetworkDeltas{}) {
		t.Errorf("first Collect() = %+v, first %v; want zero deltas, first", deltas, first)
	}
	want := Sample{
		Time: t0,
		// lo is left out; the rest are sorted by name.
		Interfaces: []InterfaceCounters{
			{Name: "eth0", BytesIn: 16179719, PacketsIn: 11044, BytesOut: 1119208, PacketsOut: 8083},
			{Name: "wlan0", BytesIn: 52311, PacketsIn: 410, BytesOut: 20480, PacketsOut: 301},
		},
		ListeningTCP: []Listener{
			{Port: 22, Interface: AllInterfaces}, // 0.0.0.0:22 and [::]:22, once
			{Port: 631, Interface: "lo"},         // 127.0.0.1:631 and [::1]:631, once
			{Port: 1883, Interface: "eth0"},
			{Port: 8080, Interface: "eth0"}, // 2001:db8:1::20
			{Port: 9100, Interface: "eth0"}, // link-local
		},
		ListeningUDP: []Listener{
			{Port: 53, Interface: "lo"}, // 127.0.0.53
			{Port: 68, Interface: AllInterfaces},
			{Port: 123, Interface: "wlan0"},
			{Port: 323, Interface: "lo"},           // ::1
			{Port: 546, Interface: "eth0"},         // link-local
			{Port: 5353, Interface: AllInterfaces}, // IPv4 and IPv6, once
			{Port: 37000, Interface: "wlan0"},      // a connected client socket is bound too
		},
		Established: []Connection{
			// Both ends of a connection to the host itself.
			{Remote: ap("127.0.0.1:631"), LocalPort: 45678, LocalInterface: "lo"},
			{Remote: ap("127.0.0.1:45678"), LocalPort: 631, LocalInterface: "lo"},
			{Remote: ap("198.51.100.23:8883"), LocalPort: 40000, LocalInterface: "wlan0"},
			{Remote: ap("203.0.113.5:51234"), LocalPort: 22, LocalInterface: "eth0"},   // listed twice
			{Remote: ap("203.0.113.9:50123"), LocalPort: 1883, LocalInterface: "eth0"}, // unmapped from tcp6
			{Remote: ap("[2001:db8:2::99]:60000"), LocalPort: 22, LocalInterface: "eth0"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Collect() =\n%+v\nwant\n%+v", got, want)
	}
}

// TestCollectScenarios replays each directory under testdata/netdev: a
// series of /proc/net/dev snapshots and a steps file of expected deltas.
func TestCollectScenarios(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "netdev", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			runScenario(t, dir)
		})
	}
}

func runScenario(t *testing.T, dir string) {
	steps := readSteps(t, filepath.Join(dir, "steps"))
	src := &stepSource{}
	c := New(Options{Source: src, Interfaces: fixtureLister})
	for i, s := range steps {
		src.load(t, filepath.Join(dir, s.file))
		_, got, first, err := c.Collect(t.Context(), t0.Add(time.Duration(i)*10*time.Second))
		if err != nil {
			t.Fatalf("%s: Collect() error = %v", s.file, err)
		}
		if got != s.want || first != s.first {
			t.Errorf("%s: Collect() = %+v, first %v; want %+v, first %v", s.file, got, first, s.want, s.first)
		}
	}
}

type scenarioStep struct {
	file  string
	first bool
	want  NetworkDeltas
}

func readSteps(t *testing.T, path string) []scenarioStep {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []scenarioStep
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		steps = append(steps, parseStep(t, fields))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}

func parseStep(t *testing.T, fields []string) scenarioStep {
	t.Helper()
	if len(fields) != 6 {
		t.Fatalf("step %q: want 6 fields", fields)
	}
	var n [4]uint64
	for i := range n {
		v, err := strconv.ParseUint(fields[2+i], 10, 64)
		if err != nil {
			t.Fatalf("step %q: %v", fields, err)
		}
		n[i] = v
	}
	return scenarioStep{file: fields[0], first: fields[1] == "yes", want: NetworkDeltas{n[0], n[1], n[2], n[3]}}
}

// stepSource serves one /proc/net/dev snapshot at a time and no sockets.
type stepSource struct {
	counters []InterfaceCounters
}

func (s *stepSource) load(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.counters, err = ParseNetDev(data); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

func (s *stepSource) Counters(context.Context) ([]InterfaceCounters, error) { return s.counters, nil }
func (s *stepSource) Sockets(context.Context) ([]Socket, error)             { return nil, nil }

// failingSource fails the calls it is told to, to inject errors.
type failingSource struct {
	counters    []InterfaceCounters
	countersErr error
	socketsErr  error
}

func (s *failingSource) Counters(context.Context) ([]InterfaceCounters, error) {
	return s.counters, s.countersErr
}

func (s *failingSource) Sockets(context.Context) ([]Socket, error) { return nil, s.socketsErr }

func TestCollectErrors(t *testing.T) {
	errSource := errors.New("source broke")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		source   *failingSource
		lister   InterfaceLister
		wantText string
		wantIs   error
	}{
		{name: "counters", ctx: t.Context(), source: &failingSource{countersErr: errSource}, wantText: "collect interface counters", wantIs: errSource},
		{name: "sockets", ctx: t.Context(), source: &failingSource{socketsErr: errSource}, wantText: "collect sockets", wantIs: errSource},
		{
			name: "interfaces", ctx: t.Context(), source: &failingSource{},
			lister:   func() ([]HostInterface, error) { return nil, errSource },
			wantText: "collect interface addresses", wantIs: errSource,
		},
		{name: "cancelled", ctx: cancelled, source: &failingSource{}, wantText: "collect network sample", wantIs: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lister := tt.lister
			if lister == nil {
				lister = fixtureLister
			}
			_, _, _, err := New(Options{Source: tt.source, Interfaces: lister}).Collect(tt.ctx, t0)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Collect() error = %v, want %v mentioning %q", err, tt.wantIs, tt.wantText)
			}
		})
	}
}

// TestCollectFailureKeepsBaseline pins that a failed call does not disturb
// the deltas: they are measured from the last successful call.
func TestCollectFailureKeepsBaseline(t *testing.T) {
	src := &failingSource{}
	c := New(Options{Source: src, Interfaces: fixtureLister})
	calls := []struct {
		counters []InterfaceCounters
		fail     bool
		first    bool
		deltas   NetworkDeltas
	}{
		{counters: ifc("eth0", 100, 100, 1, 1), fail: true},
		{counters: ifc("eth0", 200, 200, 2, 2), first: true},
		{counters: ifc("eth0", 300, 300, 3, 3), fail: true},
		{counters: ifc("eth0", 400, 400, 4, 4), deltas: NetworkDeltas{200, 200, 2, 2}},
	}
	for i, call := range calls {
		src.counters, src.socketsErr = call.counters, nil
		if call.fail {
			src.socketsErr = errors.New("sockets unreadable")
		}
		_, d, first, err := c.Collect(t.Context(), t0.Add(time.Duration(i)*10*time.Second))
		if (err != nil) != call.fail || first != call.first || d != call.deltas {
			t.Errorf("call %d: Collect() = %+v, first %v, error %v; want %+v, first %v, failure %v",
				i+1, d, first, err, call.deltas, call.first, call.fail)
		}
	}
}

// TestCollectLoopbackByFlag pins that an interface flagged loopback is left
// out of the counters whatever its name.
func TestCollectLoopbackByFlag(t *testing.T) {
	src := &failingSource{counters: append(ifc("lo0", 5, 5, 5, 5), ifc("en0", 1, 1, 1, 1)...)}
	lister := func() ([]HostInterface, error) { return []HostInterface{{Name: "lo0", Loopback: true}}, nil }
	s, _, _, err := New(Options{Source: src, Interfaces: lister}).Collect(t.Context(), t0)
	if err != nil {
		t.Fatalf("Collect() error = %v", err)
	}
	if want := ifc("en0", 1, 1, 1, 1); !reflect.DeepEqual(s.Interfaces, want) {
		t.Errorf("Interfaces = %+v, want %+v", s.Interfaces, want)
	}
}

// TestCollectConcurrent checks, under -race, that concurrent calls are safe
// and that exactly one of them is the first.
func TestCollectConcurrent(t *testing.T) {
	c := New(Options{Source: ProcSource{Root: filepath.Join("testdata", "proc")}, Interfaces: fixtureLister})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		firsts int
	)
	for i := range 8 {
		wg.Go(func() {
			_, _, first, err := c.Collect(t.Context(), t0.Add(time.Duration(i)*time.Second))
			if err != nil {
				t.Errorf("Collect() error = %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if first {
				firsts++
			}
		})
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d calls reported first, want 1", firsts)
	}
}
