package sim_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// BenchmarkReportAt measures the model and the encoding of one report, the
// simulator's own cost per report.
func BenchmarkReportAt(b *testing.B) {
	f := newFleet(b, sim.Options{Devices: 10_000, IncidentRate: 5})
	n := 0
	for b.Loop() {
		r := f.ReportAt(n%10_000, t0.Add(time.Duration(n/10_000)*sim.DefaultInterval))
		n++
		if r == nil {
			continue // offline
		}
		if _, err := proto.Encode(r, proto.JSON, proto.LongKeys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplayToVigil measures the sustained rate of a large fleet
// replayed as fast as possible into `vigil serve` running in the same
// process (broker, detector with the scanner profile on every thing, and
// store): 20,000 scanners publishing as the fleet identity over the
// default pool, for half an hour of simulated time (120,000 reports). The
// rate counts the reports the server accepted, until the last one is.
//
//	go test ./sim -run '^$' -bench ReplayToVigil -benchtime 1x
func BenchmarkReplayToVigil(b *testing.B) {
	const devices = 20_000
	for range b.N {
		b.StopTimer()
		a := startVigil(b, app.Options{FleetPassword: "fleet-secret"})
		attachScannerProfile(b, a)
		f := newFleet(b, sim.Options{Devices: devices, Start: t0, Replay: 30 * time.Minute, Duration: 30 * time.Minute, ProgressInterval: -1})
		pub, err := sim.DialMQTT(context.Background(), sim.MQTTOptions{Broker: "mqtt://" + a.MQTTAddr(), Username: app.FleetUser,
			Password: "fleet-secret", CheckReplies: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := f.Run(context.Background(), pub); err != nil {
			b.Fatal(err)
		}
		want := f.Stats().Reports
		for a.Service().AcceptedReports() < want && time.Since(start) < 5*time.Minute {
			if pub.Counts().Rejected > 0 {
				b.Fatalf("reports rejected: %s", pub.Rejection())
			}
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		pub.Close()
		a.Close()
		if got := a.Service().AcceptedReports(); got != want {
			b.Fatalf("the server accepted %d of %d reports", got, want)
		}
		b.ReportMetric(float64(want)/elapsed.Seconds(), "reports/s")
		b.ReportMetric(float64(want), "reports")
	}
}

func attachScannerProfile(b *testing.B, a *app.App) {
	data, err := os.ReadFile("../testdata/profiles/scanners.json")
	if err != nil {
		b.Fatal(err)
	}
	var p registry.Profile
	if err := json.Unmarshal(data, &p); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Service().CreateProfile(p); err != nil {
		b.Fatal(err)
	}
	if err := a.Service().Attach(p.Name, registry.AllThings); err != nil {
		b.Fatal(err)
	}
}
