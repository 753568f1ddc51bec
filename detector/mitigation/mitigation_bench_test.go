package mitigation_test

import (
	"testing"

	"github.com/vigil-iot/vigil/detector/mitigation"
)

// BenchmarkQuarantined measures the check the broker makes on every
// publish and subscription, from both cores at once, for a quarantined
// thing and a free one in turn.
func BenchmarkQuarantined(b *testing.B) {
	f := newFixture(b)
	m, err := mitigation.New(mitigation.Options{DB: f.db, Groups: regGroups{f.reg, f.db}, Now: f.clock})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Quarantine(mitigation.Request{Thing: "t1"}); err != nil {
		b.Fatal(err)
	}
	names := []string{"t1", "t2"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if m.Quarantined(names[i&1]) != (i&1 == 0) {
				b.Fatal("wrong answer")
			}
		}
	})
}
