package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/sim"
)

// lockedBuffer collects the demo's output across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemoShowsAlarms runs the demo with a small fleet and a high incident
// rate, and waits for injected incidents to show up as alarms.
func TestDemoShowsAlarms(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a simulated fleet for several seconds")
	}
	out := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- demo(ctx, demoOptions{mqtt: "127.0.0.1:0", http: "127.0.0.1:0", data: t.TempDir(), out: out, log: zerolog.Nop(),
			fleet: sim.Options{Devices: 60, Cities: 3, Seed: 7, Replay: 24 * time.Hour, Speed: 3000, IncidentRate: 40}})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(out.String(), "ALARM") < 3 || !strings.Contains(out.String(), "-- replay done") {
		select {
		case err := <-done:
			t.Fatalf("demo ended early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alarms or no live run within a minute:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v", err)
	}
	for _, want := range []string{"Vigil demo: 60 ID-card scanners in 3 cities", "Dashboard: http://", "API: http://",
		"Replaying 1 day of simulated time", "-- replaying day 1 of 1 (", "-- replay done: live from "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
