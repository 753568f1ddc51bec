package sim_test

import (
	"bytes"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

const victim = "osaka-f01-door-004"

// TestIncidentKinds injects one incident of each kind into one thing and
// compares its reports with those of the same fleet without it: the same
// before and after the incident and for the other things, changed as the
// kind says during it.
func TestIncidentKinds(t *testing.T) {
	start, end := t0.Add(7*time.Hour+40*time.Minute), t0.Add(9*time.Hour+20*time.Minute)
	base := sim.Options{Devices: 30, Seed: 5}
	clean := newFleet(t, base)
	for _, tc := range []struct {
		in    sim.Incident
		check func(t *testing.T, in sim.Incident, got, want *proto.Report)
	}{
		{sim.Incident{Kind: sim.DDoS}, checkDDoS},
		{sim.Incident{Kind: sim.SpamRelay}, checkSpam},
		{sim.Incident{Kind: sim.CommandAndControl}, checkC2},
		{sim.Incident{Kind: sim.Backdoor}, checkBackdoor},
		{sim.Incident{Kind: sim.Exfiltration}, checkExfiltration},
	} {
		t.Run(string(tc.in.Kind), func(t *testing.T) {
			o := base
			tc.in.Thing, tc.in.Start, tc.in.End = victim, start, end
			o.Incidents = []sim.Incident{tc.in}
			f := newFleet(t, o)
			in := f.Incidents(t0, t0.Add(24*time.Hour))[0]
			during := 0
			for k := range 288 {
				at := t0.Add(time.Duration(k) * sim.DefaultInterval)
				for i, th := range f.Things() {
					got, want := f.ReportAt(i, at), clean.ReportAt(i, at)
					if got == nil || want == nil {
						continue
					}
					active := th.Name == victim && in.Active(time.UnixMilli(got.Header.ReportID))
					if !active {
						if !bytes.Equal(encode(t, got), encode(t, want)) {
							t.Fatalf("%s at %v: report changed outside the incident", th.Name, at)
						}
						continue
					}
					during++
					if err := got.Validate(); err != nil {
						t.Fatal(err)
					}
					tc.check(t, in, got, want)
				}
			}
			if during < 19 {
				t.Errorf("%d reports during the incident, want 20", during)
			}
		})
	}
}

func checkDDoS(t *testing.T, in sim.Incident, got, want *proto.Report) {
	if in.Factor < 20 || in.Factor > 100 {
		t.Fatalf("factor %v, want 20 to 100", in.Factor)
	}
	if ratio := bytesOut(got) / bytesOut(want); math.Abs(ratio/in.Factor-1) > 0.01 {
		t.Errorf("bytes out surged %.1fx, want %.1fx", ratio, in.Factor)
	}
	// Packet counts are rounded up, so a quiet interval's few packets surge
	// a little less than its bytes; they stay above (n-1) times the factor.
	gp, wp := float64(*stats(got).PacketsOut), float64(*stats(want).PacketsOut)
	if gp < in.Factor*(wp-1) || gp > in.Factor*wp {
		t.Errorf("packets out went from %v to %v, want about %.1fx", wp, gp, in.Factor)
	}
}

func checkSpam(t *testing.T, in sim.Incident, got, want *proto.Report) {
	smtp := map[netip.Addr]bool{}
	for _, c := range got.Metrics.TCPConnections.EstablishedConnections.Connections {
		if c.RemoteAddr.Port() == 25 {
			if sim.ExpectedCIDR.Contains(c.RemoteAddr.Addr()) {
				t.Errorf("mail server %v inside the fleet's network", c.RemoteAddr)
			}
			smtp[c.RemoteAddr.Addr()] = true
		}
	}
	n, _ := got.NumEstablishedConnections()
	w, _ := want.NumEstablishedConnections()
	if n != w+uint64(in.Connections) || len(smtp) < in.Connections/2 || in.Connections < 30 {
		t.Errorf("%d connections (%d distinct mail servers), want %d more than %d", n, len(smtp), in.Connections, w)
	}
	if bytesOut(got) <= bytesOut(want) {
		t.Error("relaying mail sent no bytes")
	}
}

func checkC2(t *testing.T, in sim.Incident, got, want *proto.Report) {
	conns := got.Metrics.TCPConnections.EstablishedConnections.Connections
	wantConns := want.Metrics.TCPConnections.EstablishedConnections.Connections
	if len(conns) != len(wantConns)+1 || conns[len(conns)-1].RemoteAddr != in.Remote {
		t.Fatalf("connections %v, want %v and %v", conns, wantConns, in.Remote)
	}
	if sim.ExpectedCIDR.Contains(in.Remote.Addr()) || !in.Remote.Addr().IsGlobalUnicast() {
		t.Errorf("command server %v is not a public address", in.Remote)
	}
}

func checkBackdoor(t *testing.T, in sim.Incident, got, want *proto.Report) {
	if p := portsOf(got.Metrics.ListeningTCPPorts); !slices.Equal(p, append(slices.Clone(sim.ListeningTCP), in.Port)) {
		t.Errorf("listening on %v, want %v and %d", p, sim.ListeningTCP, in.Port)
	}
	if *stats(got).BytesOut != *stats(want).BytesOut {
		t.Error("a backdoor changed the traffic")
	}
}

func checkExfiltration(t *testing.T, in sim.Incident, got, want *proto.Report) {
	if d := float64(*stats(got).BytesOut) - 2*float64(*stats(want).BytesOut); in.Factor != 2 || math.Abs(d) > 1 {
		t.Errorf("bytes out %d, want twice %d", *stats(got).BytesOut, *stats(want).BytesOut)
	}
	checkPackets(t, *stats(got).BytesOut, *stats(got).PacketsOut)
}

// TestOutageBurst silences a factory for 20 minutes: its things send
// nothing, then everything they kept, in order, then carry on; the other
// things do not notice.
func TestOutageBurst(t *testing.T) {
	burst := sim.Incident{Kind: sim.OutageBurst, Group: "lyon-f01", Start: t0.Add(10 * time.Hour), End: t0.Add(10*time.Hour + 20*time.Minute)}
	o := quiet(sim.Options{Devices: 30, ScannersPerFactory: 5, Incidents: []sim.Incident{burst}})
	f := newFleet(t, o)
	for i, th := range f.Things() {
		var ids []int64
		var silent, sends int
		for k := range 288 {
			at := t0.Add(time.Duration(k) * sim.DefaultInterval)
			sent := f.ReportsAt(i, at)
			if th.Factory != "lyon-f01" && len(sent) != 1 {
				t.Fatalf("%s at %v sent %d reports", th.Name, at, len(sent))
			}
			if len(sent) == 0 {
				silent++
				if !f.Condition(i, at).Silent {
					t.Errorf("%s at %v sent nothing, not silenced", th.Name, at)
				}
			}
			if len(sent) > 1 {
				sends++
				checkKept(t, f, i, sent, burst)
			}
			for _, r := range sent {
				ids = append(ids, r.Header.ReportID)
			}
		}
		if th.Factory == "lyon-f01" && (silent != 4 || sends != 1) {
			t.Errorf("%s: %d silent intervals and %d bursts, want 4 and 1", th.Name, silent, sends)
		}
		if len(ids) != 288 || !increasing(ids) {
			t.Errorf("%s: %d report ids, increasing: %v; want all 288 in order", th.Name, len(ids), increasing(ids))
		}
	}
	truth := f.Incidents(t0, t0.Add(24*time.Hour))
	if len(truth) != 5 || truth[0].Kind.IsIncident() || truth[0].Group != "lyon-f01" {
		t.Errorf("truth %v, want the burst on each of the 5 things of lyon-f01", truth)
	}
}

// checkKept checks the reports sent right after a burst: the kept ones are
// the reports of the silent intervals, unchanged.
func checkKept(t *testing.T, f *sim.Fleet, i int, sent []*proto.Report, burst sim.Incident) {
	t.Helper()
	for _, r := range sent[:len(sent)-1] {
		at := time.UnixMilli(r.Header.ReportID)
		if !burst.Active(at) || !bytes.Equal(encode(t, r), encode(t, f.ReportAt(i, at))) {
			t.Errorf("kept report %d is not the report made at %v", r.Header.ReportID, at)
		}
	}
	if last := time.UnixMilli(sent[len(sent)-1].Header.ReportID); last.Before(burst.End) {
		t.Errorf("the burst's last report is at %v, before its end", last)
	}
}

func increasing(ids []int64) bool {
	for n := 1; n < len(ids); n++ {
		if ids[n] <= ids[n-1] {
			return false
		}
	}
	return true
}

// TestGeneratedEvents draws events at 20 per kind per 1,000 device-days
// over 400 device-days, and checks their number, their span, and that each
// shows in the conditions of its thing's reports.
func TestGeneratedEvents(t *testing.T) {
	f := newFleet(t, sim.Options{Devices: 40, ScannersPerFactory: 10, Seed: 9, IncidentRate: 20})
	from, to := t0, t0.Add(10*24*time.Hour)
	events := f.Incidents(from, to)
	count := map[sim.Kind]int{}
	bursts := map[string]bool{}
	for _, in := range events {
		if in.Kind == sim.OutageBurst {
			bursts[in.Group+in.Start.String()] = true
			continue
		}
		count[in.Kind]++
		checkShows(t, f, in)
	}
	for _, k := range sim.Kinds[:5] {
		// Expected 8 of each; 2 to 18 is within 3.5 standard deviations.
		if count[k] < 2 || count[k] > 18 {
			t.Errorf("%d %s incidents over 400 device-days at 20 per 1,000, want about 8", count[k], k)
		}
	}
	if len(bursts) < 2 || len(bursts) > 18 {
		t.Errorf("%d outage bursts, want about 8", len(bursts))
	}
	if !slices.IsSortedFunc(events, func(a, b sim.Incident) int { return a.Start.Compare(b.Start) }) {
		t.Error("incidents not in order of start")
	}
}

// checkShows checks that an incident shapes the reports of its thing made
// during it, and lasts as long as its kind does.
func checkShows(t *testing.T, f *sim.Fleet, in sim.Incident) {
	t.Helper()
	if d := in.End.Sub(in.Start); d < 10*time.Minute || d > 24*time.Hour {
		t.Errorf("%s lasts %v", in.Kind, d)
	}
	i, _ := f.Index(in.Thing)
	at := in.Start.Add(in.End.Sub(in.Start) / 2)
	c := f.Condition(i, at)
	if !in.Active(c.Time) {
		return
	}
	if !slices.ContainsFunc(c.Incidents, func(x sim.Incident) bool { return x.Truth() == in.Truth() }) {
		t.Errorf("%s on %s from %v: not in the condition at %v", in.Kind, in.Thing, in.Start, at)
	}
}

// TestReportIDsIncrease runs every thing through two days of everything
// the model does (reboots, outages, bursts, incidents): each thing's report
// ids increase, and every report is valid.
func TestReportIDsIncrease(t *testing.T) {
	f := newFleet(t, sim.Options{Devices: 40, ScannersPerFactory: 10, Seed: 21, IncidentRate: 150, RebootRate: 1, OutageRate: 0.5})
	late := 0
	for i := range f.Len() {
		var ids []int64
		for k := range 2 * 288 {
			sent := f.ReportsAt(i, t0.Add(time.Duration(k)*sim.DefaultInterval))
			late += max(len(sent)-1, 0)
			for _, r := range sent {
				if err := r.Validate(); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.Header.ReportID)
			}
		}
		if !increasing(ids) {
			t.Fatalf("thing %d: report ids do not increase", i)
		}
	}
	if late == 0 {
		t.Error("no outage burst in two days at 150 per 1,000 device-days")
	}
}

func TestParseIncidents(t *testing.T) {
	good := []struct {
		name, doc string
		want      sim.Incident
	}{
		{"list with offsets", `[{"kind":"ddos","thing":"a","start":"36h","duration":"90m","factor":50}]`,
			sim.Incident{Kind: sim.DDoS, Thing: "a", Start: t0.Add(36 * time.Hour), End: t0.Add(37*time.Hour + 30*time.Minute), Factor: 50}},
		{"object with times", `{"incidents":[{"kind":"c2","group":"lyon","start":"2026-03-02T08:00:00+01:00","end":"2026-03-02T09:00:00Z","remote":"203.0.113.9:4444"}]}`,
			sim.Incident{Kind: sim.CommandAndControl, Group: "lyon", Start: t0.Add(7 * time.Hour), End: t0.Add(9 * time.Hour), Remote: netip.MustParseAddrPort("203.0.113.9:4444")}},
		{"backdoor", `[{"kind":"backdoor","thing":"a","start":"0s","end":"1h","port":2323}]`,
			sim.Incident{Kind: sim.Backdoor, Thing: "a", Start: t0, End: t0.Add(time.Hour), Port: 2323}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sim.ParseIncidents([]byte(tc.doc), t0)
			if err != nil || len(got) != 1 || got[0].Truth() != tc.want.Truth() {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for name, doc := range map[string]string{
		"unknown field":   `[{"kind":"ddos","thing":"a","start":"1h","duration":"1h","speed":3}]`,
		"end and length":  `[{"kind":"ddos","thing":"a","start":"1h","end":"2h","duration":"1h"}]`,
		"no end":          `[{"kind":"ddos","thing":"a","start":"1h"}]`,
		"bad start":       `[{"kind":"ddos","thing":"a","start":"tomorrow","duration":"1h"}]`,
		"bad remote":      `[{"kind":"c2","thing":"a","start":"1h","duration":"1h","remote":"example.com"}]`,
		"not json":        `kind: ddos`,
		"trailing object": `[{"kind":"ddos","thing":"a","start":"1h","duration":"1h"}] {}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := sim.ParseIncidents([]byte(doc), t0); err == nil {
				t.Error("accepted")
			}
		})
	}
}
