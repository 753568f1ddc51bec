package app

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
)

// BenchmarkEndToEndIngest measures reports per second from MQTT clients
// through the embedded broker (QoS 1), decoding, the engine (a profile of 5
// behaviors on every thing) and the synced store, counting the accepted
// replies. Run it with -benchtime=Nx where N is the number of reports.
func BenchmarkEndToEndIngest(b *testing.B) {
	const publishers = 50
	a, err := Start(Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: b.TempDir(), AllowAnonymous: true,
		LenientReportID: false, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	p, err := readProfile("../testdata/profiles/scanners.json")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Service().CreateProfile(p); err != nil {
		b.Fatal(err)
	}
	if err := a.Service().Attach(p.Name, registry.AllThings); err != nil {
		b.Fatal(err)
	}
	clients := make([]mqtt.Client, publishers)
	for i := range clients {
		opts := mqtt.NewClientOptions().AddBroker("tcp://" + a.MQTTAddr()).SetClientID(fmt.Sprintf("bench-%d", i)).SetMaxResumePubInFlight(64)
		clients[i] = mqtt.NewClient(opts)
		if tok := clients[i].Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		defer clients[i].Disconnect(50)
	}
	payloads := make([][]byte, b.N)
	base := time.Now().UnixMilli()
	for i := range payloads {
		r := sampleReport(base + int64(i/publishers))
		payloads[i], _ = proto.Encode(r, proto.JSON, proto.LongKeys)
	}
	start := acceptedTotal(a)
	b.ResetTimer()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			topic := fmt.Sprintf("$aws/things/bench-%d/defender/metrics/json", c)
			var last mqtt.Token
			for i := c; i < b.N; i += publishers {
				last = clients[c].Publish(topic, 1, false, payloads[i])
				if i%64 == c%64 {
					last.Wait()
				}
			}
			if last != nil {
				last.Wait()
			}
		}(c)
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for acceptedTotal(a)-start < b.N && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	got := acceptedTotal(a) - start
	if got != b.N {
		b.Fatalf("accepted %d of %d reports", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

func sampleReport(id int64) *proto.Report {
	r := &proto.Report{Header: proto.Header{ReportID: id, Version: proto.CurrentVersion}, Metrics: &proto.Metrics{
		ListeningTCPPorts: &proto.PortList{Ports: []proto.Port{{Port: 22}, {Port: 443}, {Port: 8080}}, Total: proto.Count(3)},
		NetworkStats:      &proto.NetworkStats{BytesIn: proto.Count(1200), BytesOut: proto.Count(17500), PacketsIn: proto.Count(20), PacketsOut: proto.Count(30)},
	}}
	return r
}

// readProfile reads a profile in AWS's JSON shape.
func readProfile(path string) (registry.Profile, error) {
	var p registry.Profile
	data, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(data, &p)
}

// acceptedTotal reads the count of accepted reports from the service's
// metrics.
func acceptedTotal(a *App) int {
	return int(a.Service().AcceptedReports())
}

// BenchmarkMemoryPerDevice reports the detector's heap per monitored device
// (engine state, ingest state, coverage cache) with the sample profile of 5
// behaviors, after 20,000 devices have reported twice. Broker sessions are
// not included: devices here report through the service directly.
func BenchmarkMemoryPerDevice(b *testing.B) {
	const devices = 20_000
	for range b.N {
		a, err := Start(Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: b.TempDir(), AllowAnonymous: true, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		p, err := readProfile("../testdata/profiles/scanners.json")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Service().CreateProfile(p); err != nil {
			b.Fatal(err)
		}
		if err := a.Service().Attach(p.Name, registry.AllThings); err != nil {
			b.Fatal(err)
		}
		payload := func(id int64) []byte {
			data, _ := proto.Encode(sampleReport(id), proto.JSON, proto.LongKeys)
			return data
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		base := time.Now().UnixMilli()
		for round := range 2 {
			for i := range devices {
				a.Service().HandleReport(fmt.Sprintf("$aws/things/dev-%05d/defender/metrics/json", i), payload(base+int64(round)), "")
			}
		}
		for acceptedTotal(a) < 2*devices {
			time.Sleep(time.Millisecond)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/devices, "heap-bytes/device")
		a.Close()
	}
}
