package alert

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/store"
)

// benchPayload is a violation event of typical size.
var benchPayload = []byte(`{"violationId":"174db59167fa474c80a652ad1583fd44","thingName":"scanner-0042","securityProfileName":"scanners",` +
	`"behavior":{"name":"few-ports","metric":"aws:num-listening-tcp-ports","criteria":{"comparisonOperator":"less-than-equals",` +
	`"value":{"count":5},"consecutiveDatapointsToAlarm":1,"consecutiveDatapointsToClear":1}},"metricValue":{"count":9},` +
	`"violationEventType":"in-alarm","violationEventTime":1772445600000,"violationStartTime":1772445600000,"verificationState":"UNKNOWN"}`)

// BenchmarkStage measures what staging a delivery adds to the detector's
// commit of the event.
func BenchmarkStage(b *testing.B) {
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	d, err := New(Options{DB: db, Lookup: func(string) (Webhook, bool) { return Webhook{}, false }, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	batch := db.NewBatch()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%512 == 0 { // a detector batch holds at most a few hundred events
			batch.Discard()
			batch = db.NewBatch()
		}
		d.Stage(batch, "scanners", "scanner-0042", "174db59167fa474c80a652ad1583fd44-in-alarm", benchPayload)
	}
	batch.Discard()
}

// BenchmarkDeliver measures webhook deliveries end to end on loopback:
// staged in batches of 100 events from 100 things, posted, signed,
// acknowledged and removed from the store.
func BenchmarkDeliver(b *testing.B) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.Add(1) }))
	defer srv.Close()
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	hook := Webhook{URL: srv.URL, Secret: "a benchmark secret"}
	d, err := New(Options{DB: db, Lookup: func(string) (Webhook, bool) { return hook, true }, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	b.ResetTimer()
	for i := 0; i < b.N; i += 100 {
		batch := db.NewBatch()
		for j := i; j < min(i+100, b.N); j++ {
			d.Stage(batch, "scanners", fmt.Sprintf("scanner-%d", j%100), fmt.Sprint(j), benchPayload)
		}
		if err := db.Commit(batch); err != nil {
			b.Fatal(err)
		}
		d.Committed()
	}
	for got.Load() < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
