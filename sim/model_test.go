package sim_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// t0 is a Monday at midnight UTC: the start of the tests' simulations.
var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// quiet is a fleet without reboots, outages or incidents.
func quiet(o sim.Options) sim.Options {
	o.RebootRate, o.OutageRate = -1, -1
	return o
}

func newFleet(t testing.TB, o sim.Options) *sim.Fleet {
	t.Helper()
	if o.Start.IsZero() {
		o.Start = t0
	}
	f, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func stats(r *proto.Report) *proto.NetworkStats { return r.Metrics.NetworkStats }

func bytesOut(r *proto.Report) float64 { return float64(*stats(r).BytesOut) }

func cityOffset(t *testing.T, name string) time.Duration {
	for _, c := range sim.Cities {
		if c.Name == name {
			return c.Offset
		}
	}
	t.Fatalf("no city %q", name)
	return 0
}

func localHour(at time.Time, offset time.Duration) float64 {
	l := at.Add(offset)
	return float64(l.Hour()) + float64(l.Minute())/60 + float64(l.Second())/3600
}

func TestLayout(t *testing.T) {
	f := newFleet(t, sim.Options{Devices: 250, Cities: 3, ScannersPerFactory: 40})
	things := f.Things()
	if len(things) != 250 || f.Len() != 250 {
		t.Fatalf("%d things, want 250", len(things))
	}
	name := regexp.MustCompile(`^([a-z-]+)-f\d{2}-door-\d{3}$`)
	groups := map[string]string{}
	for _, g := range f.Groups() {
		if _, seen := groups[g.Parent]; g.Parent != "" && !seen {
			t.Errorf("group %s comes before its parent %s", g.Name, g.Parent)
		}
		groups[g.Name] = g.Parent
	}
	seen := map[string]bool{}
	for i, th := range things {
		m := name.FindStringSubmatch(th.Name)
		switch {
		case m == nil:
			t.Errorf("thing name %q is not city-fNN-door-NNN", th.Name)
		case m[1] != th.City || groups[th.Factory] != th.City || groups[th.City] != "":
			t.Errorf("thing %s: city %s, factory %s do not match the groups", th.Name, th.City, th.Factory)
		case seen[th.Name]:
			t.Errorf("thing name %s twice", th.Name)
		}
		seen[th.Name] = true
		if j, ok := f.Index(th.Name); !ok || j != i {
			t.Errorf("Index(%s) = %d, %v; want %d", th.Name, j, ok, i)
		}
	}
	if things[0].Name != "lyon-f01-door-001" || groups["chicago-f03"] != "chicago" {
		t.Errorf("first thing %s, groups %v", things[0].Name, groups)
	}
}

func TestOptionsRejected(t *testing.T) {
	for name, o := range map[string]sim.Options{
		"too many cities":  {Cities: len(sim.Cities) + 1},
		"negative devices": {Devices: -1},
		"bad root":         {Root: "$foo"},
		"unknown thing":    {Incidents: []sim.Incident{{Kind: sim.DDoS, Thing: "nope", Start: t0, End: t0.Add(time.Hour)}}},
		"unknown group":    {Incidents: []sim.Incident{{Kind: sim.OutageBurst, Group: "nope", Start: t0, End: t0.Add(time.Hour)}}},
		"unknown kind":     {Incidents: []sim.Incident{{Kind: "worm", Thing: "lyon-f01-door-001", Start: t0, End: t0.Add(time.Hour)}}},
		"end before start": {Incidents: []sim.Incident{{Kind: sim.DDoS, Thing: "lyon-f01-door-001", Start: t0, End: t0}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := sim.New(o); err == nil {
				t.Error("New accepted the options")
			}
		})
	}
}

func TestDailyCurvePeaksAtEightAndTwenty(t *testing.T) {
	if got := sim.DailyCurve(8); math.Abs(got-sim.PeakBytesOut) > 0.5 {
		t.Errorf("DailyCurve(8) = %v, want %v", got, sim.PeakBytesOut)
	}
	morning, evening := argmax(0, 14, sim.DailyCurve), argmax(14, 24, sim.DailyCurve)
	if math.Abs(morning-8) > 0.05 || math.Abs(evening-20) > 0.05 {
		t.Errorf("peaks at %.2f h and %.2f h, want 8 and 20", morning, evening)
	}
	if night, noon := sim.DailyCurve(3), sim.DailyCurve(14); night > 1000 || noon < 2*night || noon > sim.PeakBytesOut/3 {
		t.Errorf("night %v, noon %v: want a low night and a plateau well below the peaks", night, noon)
	}
}

// argmax returns the hour in [from, to) where fn is largest, by minutes.
func argmax(from, to float64, fn func(float64) float64) float64 {
	best, at := math.Inf(-1), from
	for h := from; h < to; h += 1.0 / 60 {
		if v := fn(h); v > best {
			best, at = v, h
		}
	}
	return at
}

// TestPeaksInLocalTime averages a week of reports per city and finds the
// morning and evening peaks at 8:00 and 20:00 local time, whatever the
// city's offset from UTC.
func TestPeaksInLocalTime(t *testing.T) {
	f := newFleet(t, quiet(sim.Options{Devices: 60, Cities: 3, Seed: 7}))
	slots := int(24 * time.Hour / sim.DefaultInterval)
	for c, city := range sim.Cities[:3] {
		offset := cityOffset(t, city.Name)
		sums := make([]float64, slots) // by local 5-minute slot
		for day := range 7 {
			for k := range slots {
				at := t0.Add(time.Duration(day)*24*time.Hour + time.Duration(k)*sim.DefaultInterval)
				for i := c * 20; i < (c+1)*20; i++ {
					r := f.ReportAt(i, at)
					local := int(localHour(time.UnixMilli(r.Header.ReportID).UTC(), offset) * 12)
					sums[local%slots] += bytesOut(r)
				}
			}
		}
		curve := func(h float64) float64 { return sums[int(h*12)%slots] }
		morning, evening := argmax(0, 14, curve), argmax(14, 24, curve)
		if math.Abs(morning-8) > 0.34 || math.Abs(evening-20) > 0.34 {
			t.Errorf("%s: peaks at %.2f h and %.2f h local, want 8 and 20 within 20 minutes", city.Name, morning, evening)
		}
	}
}

// TestNoise checks that each report is the daily curve times a factor
// spread evenly over [0.8, 1.2].
func TestNoise(t *testing.T) {
	f := newFleet(t, quiet(sim.Options{Devices: 30, Seed: 3}))
	var ratios []float64
	for k := range 2 * 288 {
		at := t0.Add(time.Duration(k) * sim.DefaultInterval)
		for i, th := range f.Things() {
			r := f.ReportAt(i, at)
			mean := sim.DailyCurve(localHour(time.UnixMilli(r.Header.ReportID).UTC(), cityOffset(t, th.City)))
			ratios = append(ratios, bytesOut(r)/mean)
		}
	}
	lo, hi := slices.Min(ratios), slices.Max(ratios)
	mean, sd := meanSD(ratios)
	if lo < 1-sim.Noise-0.001 || hi > 1+sim.Noise+0.001 {
		t.Errorf("ratio to the curve spans [%.3f, %.3f], want within ±%v", lo, hi, sim.Noise)
	}
	if lo > 0.82 || hi < 1.18 {
		t.Errorf("ratio to the curve spans [%.3f, %.3f], want it to reach near ±%v", lo, hi, sim.Noise)
	}
	// A uniform spread of ±0.2 has a standard deviation of 0.2/√3.
	if math.Abs(mean-1) > 0.01 || math.Abs(sd-sim.Noise/math.Sqrt(3)) > 0.01 {
		t.Errorf("ratio mean %.4f, sd %.4f; want 1 and %.4f", mean, sd, sim.Noise/math.Sqrt(3))
	}
}

func meanSD(xs []float64) (float64, float64) {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sq / float64(len(xs)))
}

// TestHealthyReports checks every report of a fleet with reboots and
// outages but no incidents: valid, within the bounds, packets consistent
// with bytes, peers and ports as expected.
func TestHealthyReports(t *testing.T) {
	f := newFleet(t, sim.Options{Devices: 40, Seed: 11, RebootRate: 2})
	var reboots, offline int
	for k := range 2 * 288 {
		at := t0.Add(time.Duration(k) * sim.DefaultInterval)
		for i := range f.Len() {
			c := f.Condition(i, at)
			r := f.ReportAt(i, at)
			if c.Offline {
				offline++
				if r != nil {
					t.Fatalf("thing %d offline at %v made a report", i, at)
				}
				continue
			}
			if c.Reboot {
				reboots++
				if bytesOut(r) > 0.05*sim.PeakBytesOut {
					t.Errorf("thing %d rebooted at %v but sent %v bytes", i, at, bytesOut(r))
				}
			}
			checkHealthy(t, r)
		}
	}
	if reboots == 0 || offline == 0 {
		t.Errorf("%d reboot intervals and %d offline intervals; want some of each", reboots, offline)
	}
}

func checkHealthy(t *testing.T, r *proto.Report) {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatalf("report %d: %v", r.Header.ReportID, err)
	}
	out, in := *stats(r).BytesOut, *stats(r).BytesIn
	if out > sim.MaxBytesOut {
		t.Errorf("report %d: %d bytes out, over %d", r.Header.ReportID, out, sim.MaxBytesOut)
	}
	checkPackets(t, out, *stats(r).PacketsOut)
	checkPackets(t, in, *stats(r).PacketsIn)
	for _, c := range r.Metrics.TCPConnections.EstablishedConnections.Connections {
		if !sim.ExpectedCIDR.Contains(c.RemoteAddr.Addr()) || c.RemoteAddr.Port() != 443 {
			t.Errorf("report %d: unexpected peer %v", r.Header.ReportID, c.RemoteAddr)
		}
	}
	if got := portsOf(r.Metrics.ListeningTCPPorts); !slices.Equal(got, sim.ListeningTCP) {
		t.Errorf("report %d: listening on %v", r.Header.ReportID, got)
	}
}

// checkPackets checks that bytes fit in packets of 40 (headers only) to
// 1500 bytes (a full Ethernet frame).
func checkPackets(t *testing.T, bytes, packets uint64) {
	t.Helper()
	if packets*40 > bytes || bytes > packets*1500 {
		t.Errorf("%d bytes in %d packets", bytes, packets)
	}
}

func portsOf(l *proto.PortList) []uint16 {
	var out []uint16
	for _, p := range l.Ports {
		out = append(out, p.Port)
	}
	return out
}

func TestSameSeedSameReports(t *testing.T) {
	o := sim.Options{Devices: 50, Seed: 42, IncidentRate: 100}
	a, b := newFleet(t, o), newFleet(t, o)
	o.Seed = 43
	other := newFleet(t, o)
	type key struct {
		i int
		k int
	}
	var keys []key
	for k := range 288 {
		for i := range 50 {
			keys = append(keys, key{i, k})
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(x, y int) { keys[x], keys[y] = keys[y], keys[x] })
	differ := 0
	for n, kk := range keys {
		at := t0.Add(time.Duration(kk.k) * sim.DefaultInterval)
		// b walks the same keys backwards: the order of calls must not
		// matter.
		back := keys[len(keys)-1-n]
		_ = b.ReportAt(back.i, t0.Add(time.Duration(back.k)*sim.DefaultInterval))
		ea, eb := encode(t, a.ReportAt(kk.i, at)), encode(t, b.ReportAt(kk.i, at))
		if !bytes.Equal(ea, eb) {
			t.Fatalf("thing %d at %v: same seed, different reports:\n%s\n%s", kk.i, at, ea, eb)
		}
		if !bytes.Equal(ea, encode(t, other.ReportAt(kk.i, at))) {
			differ++
		}
	}
	if differ < len(keys)*9/10 {
		t.Errorf("another seed changed only %d of %d reports", differ, len(keys))
	}
	if !slices.EqualFunc(a.Incidents(t0, t0.Add(24*time.Hour)), b.Incidents(t0, t0.Add(24*time.Hour)), sameIncident) {
		t.Error("same seed, different incidents")
	}
}

func sameIncident(a, b sim.Incident) bool { return a.Truth() == b.Truth() }

func encode(t testing.TB, r *proto.Report) []byte {
	t.Helper()
	if r == nil {
		return nil
	}
	data, err := proto.Encode(r, proto.JSON, proto.LongKeys)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
