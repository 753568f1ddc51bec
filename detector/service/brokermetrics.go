package service

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// Broker-side metrics are turned into datapoints at these intervals.
const (
	// BrokerWindow is the window of the broker's counters: each thing gets
	// one datapoint per metric per window, aligned to the epoch.
	BrokerWindow = 5 * time.Minute
	// SilenceInterval is how often vigil:report-silence is evaluated.
	SilenceInterval = time.Minute
)

// BrokerSource is the broker seen from the detector: what it counted of
// each device, and which topic-filter dimensions it should count. The
// embedded broker fits, through a small adapter in the app.
type BrokerSource interface {
	// EachThing calls fn with the counts of every device the broker has
	// seen since it started (fleet and operator identities left out).
	EachThing(fn func(BrokerCounts))
	// EachWindow is EachThing with, in each thing's counts, the largest
	// and smallest messages since the previous call of EachWindow.
	EachWindow(fn func(BrokerCounts))
	// CountDimensions replaces the dimensions whose messages the broker
	// counts per thing.
	CountDimensions(dims []registry.Dimension) error
}

// BrokerCounts is what the broker counted of one thing since it started.
// The counts only grow.
type BrokerCounts struct {
	Thing                 string
	ConnectionAttempts    uint64
	AuthorizationFailures uint64
	Disconnects           uint64
	MessagesSent          uint64
	BytesSent             uint64
	MessagesReceived      uint64
	// LargestMessage and SmallestMessage are payload sizes, meaningful
	// when MessagesSent grew.
	LargestMessage, SmallestMessage uint64
	// Connections are the thing's recent connections, oldest first.
	Connections []BrokerConnection
	// Dimensions are the counts of the dimensions being counted.
	Dimensions []DimensionCounts
}

// BrokerConnection is one connection of a thing; End is zero while it is
// open.
type BrokerConnection struct {
	Addr       netip.Addr
	Start, End time.Time
}

// DimensionCounts are a thing's counts of the messages whose topic matched
// a dimension. Counts of another Generation (the dimension's filters
// changed) are not comparable.
type DimensionCounts struct {
	Name                  string
	Generation            uint64
	MessagesSent          uint64
	BytesSent             uint64
	MessagesReceived      uint64
	AuthorizationFailures uint64
}

// connectedAt returns the start of the connection open at t, if any.
func (c *BrokerCounts) connectedAt(t time.Time) (time.Time, bool) {
	for i := len(c.Connections) - 1; i >= 0; i-- {
		k := c.Connections[i]
		if !k.Start.After(t) && (k.End.IsZero() || k.End.After(t)) {
			return k.Start, true
		}
	}
	return time.Time{}, false
}

// brokerWindows is the service's view of the broker's counters: the
// window being counted, and each thing's counts when the last one closed.
// Guarded by Service.mu.
type brokerWindows struct {
	window time.Time // start of the open window
	minute time.Time // the last minute report silence was evaluated
	prev   map[string]BrokerCounts
	dims   []registry.Dimension // last given to the broker
	// todo holds the datapoints of the last closed window that still
	// await evaluation, perTick of them evaluated each tick, so that a
	// large fleet does not hold the engine for long.
	todo    []retainedReport
	perTick int
}

// How the datapoints of a closed window are spread over ticks: all of them
// at once up to brokerChunk things, else over brokerSpread ticks (one
// second each), well within the fleet summaries' grace for late
// datapoints.
const (
	brokerChunk  = 5000
	brokerSpread = 10
)

// begin starts counting in the window and minute of now: what the broker
// counted before goes to that window.
func (bw *brokerWindows) begin(now time.Time) {
	bw.window, bw.minute = floorTime(now, BrokerWindow), floorTime(now, SilenceInterval)
	bw.prev = map[string]BrokerCounts{}
}

// observeBroker turns the broker's counters into datapoints when a window
// or a minute has passed, evaluates them and records their events in b,
// and returns them for the history and fleet summaries. Broker-side
// metrics follow the server clock: with report time they are not made.
// Called by tick with s.mu held.
func (s *Service) observeBroker(b *store.Batch) []retainedReport {
	if s.opts.Broker == nil || s.opts.ReportTime {
		return nil
	}
	bw := &s.brokerWin
	now := s.opts.Now()
	window, minute := floorTime(now, BrokerWindow), floorTime(now, SilenceInterval)
	var retained []retainedReport
	if window.After(bw.window) {
		retained = s.evaluateBroker(b, len(bw.todo)) // what is left of the window before
		bw.todo = s.closeBrokerWindow(bw.window)
		bw.perTick = max(brokerChunk, (len(bw.todo)+brokerSpread-1)/brokerSpread)
		bw.window = window
	}
	if len(bw.todo) > 0 {
		retained = append(retained, s.evaluateBroker(b, bw.perTick)...)
	}
	if minute.After(bw.minute) {
		retained = append(retained, s.observeSilence(b, minute)...)
		bw.minute = minute
	}
	return retained
}

// floorTime rounds t down to a multiple of d since the Unix epoch.
func floorTime(t time.Time, d time.Duration) time.Time {
	ns := t.UnixNano()
	return time.Unix(0, ns-ns%int64(d)).UTC()
}

// closeBrokerWindow makes each thing's datapoints of the window that
// starts at start from the growth of its counts since the last window,
// stamped with the window's last millisecond, so that they fall in that
// window for durationSeconds windows and fleet summaries. Only the things
// whose profiles retain a broker-side series get datapoints.
func (s *Service) closeBrokerWindow(start time.Time) []retainedReport {
	end := start.Add(BrokerWindow)
	stamp := end.Add(-time.Millisecond)
	retained := *s.retain.metrics.Load()
	var out []retainedReport
	s.opts.Broker.EachWindow(func(c BrokerCounts) {
		prev := s.brokerWin.prev[c.Thing]
		c.Connections = slices.Clone(c.Connections)
		s.brokerWin.prev[c.Thing] = BrokerCounts{Thing: c.Thing, ConnectionAttempts: c.ConnectionAttempts,
			AuthorizationFailures: c.AuthorizationFailures, Disconnects: c.Disconnects, MessagesSent: c.MessagesSent,
			BytesSent: c.BytesSent, MessagesReceived: c.MessagesReceived, Dimensions: c.Dimensions}
		profiles := s.reg.ProfilesFor(c.Thing)
		wanted := wantedSeries(retained, profiles)
		if len(wanted) == 0 {
			return
		}
		dps := s.windowDatapoints(&c, &prev, start, end, wanted)
		if len(dps) == 0 {
			return
		}
		out = append(out, retainedReport{now: stamp, thing: c.Thing, profiles: profiles, dps: dps})
	})
	return out
}

// evaluateBroker evaluates up to n of the waiting things' window
// datapoints, records their events in b, and returns them for the history
// and fleet summaries.
func (s *Service) evaluateBroker(b *store.Batch, n int) []retainedReport {
	bw := &s.brokerWin
	n = min(n, len(bw.todo))
	if n == 0 {
		return nil
	}
	done := bw.todo[:n:n]
	for _, r := range done {
		s.record(b, s.eng.Observe(r.now, r.thing, s.reg.ProfilesFor(r.thing), r.dps))
	}
	s.saveStates(b)
	bw.todo = bw.todo[n:]
	if len(bw.todo) == 0 {
		bw.todo = nil
	}
	return done
}

// wantedSeries returns the series the profiles retain (their behaviors'
// included), as a set, or nil when they retain none.
func wantedSeries(retained map[string][]string, profiles []string) map[string]bool {
	var wanted map[string]bool
	for _, p := range profiles {
		for _, m := range retained[p] {
			if wanted == nil {
				wanted = map[string]bool{}
			}
			wanted[m] = true
		}
	}
	return wanted
}

// windowDatapoints makes a thing's broker-side datapoints of one window:
// the counters' growth when the thing was connected in the window or any
// of them moved, the addresses it connected from, and how long it has been
// disconnected. Only the wanted series are made.
func (s *Service) windowDatapoints(c, prev *BrokerCounts, start, end time.Time, wanted map[string]bool) []detector.Datapoint {
	var dps []detector.Datapoint
	add := func(metric string, v detector.Value) {
		if wanted[metric] {
			dps = append(dps, detector.Datapoint{Metric: metric, Value: v})
		}
	}
	counters := []struct {
		metric    string
		cur, prev uint64
	}{
		{detector.MetricConnectionAttempts, c.ConnectionAttempts, prev.ConnectionAttempts},
		{detector.MetricAuthorizationFailures, c.AuthorizationFailures, prev.AuthorizationFailures},
		{detector.MetricDisconnects, c.Disconnects, prev.Disconnects},
		{detector.MetricMessagesSent, c.MessagesSent, prev.MessagesSent},
		{detector.MetricMessagesReceived, c.MessagesReceived, prev.MessagesReceived},
		{detector.MetricMessageByteSize, c.BytesSent, prev.BytesSent},
	}
	ips := activeAddrs(c.Connections, start, end)
	active := len(ips) > 0 || connectedIn(c.Connections, start, end)
	for _, k := range counters {
		active = active || k.cur != k.prev
	}
	if !active {
		return s.disconnectDuration(dps, c, end, wanted)
	}
	for _, k := range counters {
		add(k.metric, countValue(growth(k.cur, k.prev)))
	}
	if len(ips) > 0 {
		add(detector.MetricSourceIP, detector.Value{Kind: detector.KindIPs, IPs: ips})
	}
	if c.MessagesSent != prev.MessagesSent {
		add(detector.SeriesLargestMessage, countValue(float64(c.LargestMessage)))
		add(detector.SeriesSmallestMessage, countValue(float64(c.SmallestMessage)))
	}
	dps = dimensionDatapoints(dps, c, prev, wanted)
	return s.disconnectDuration(dps, c, end, wanted)
}

// disconnectDuration adds the minutes a thing has been disconnected at the
// end of the window (0 when connected), while that is within the silence
// timeout: a thing gone for good stops giving datapoints, and its alarms
// are invalidated like those of any silent thing.
func (s *Service) disconnectDuration(dps []detector.Datapoint, c *BrokerCounts, end time.Time, wanted map[string]bool) []detector.Datapoint {
	if !wanted[detector.MetricDisconnectDuration] || len(c.Connections) == 0 {
		return dps
	}
	minutes := 0.0
	if _, ok := c.connectedAt(end); !ok {
		last := c.Connections[len(c.Connections)-1].End
		away := end.Sub(last)
		timeout := s.opts.SilenceTimeout
		if timeout <= 0 {
			timeout = detector.DefaultSilenceTimeout
		}
		if last.IsZero() || away > timeout {
			return dps
		}
		minutes = float64(int64(away / time.Minute))
	}
	return append(dps, detector.Datapoint{Metric: detector.MetricDisconnectDuration, Value: countValue(minutes)})
}

// dimensionDatapoints adds the datapoints of the dimensioned series: with
// IN the growth of the matching messages, with NOT_IN that of the others.
func dimensionDatapoints(dps []detector.Datapoint, c, prev *BrokerCounts, wanted map[string]bool) []detector.Datapoint {
	totals := map[string]float64{
		detector.MetricMessagesSent:          growth(c.MessagesSent, prev.MessagesSent),
		detector.MetricMessagesReceived:      growth(c.MessagesReceived, prev.MessagesReceived),
		detector.MetricMessageByteSize:       growth(c.BytesSent, prev.BytesSent),
		detector.MetricAuthorizationFailures: growth(c.AuthorizationFailures, prev.AuthorizationFailures),
	}
	for _, d := range c.Dimensions {
		var p DimensionCounts
		for _, pd := range prev.Dimensions {
			if pd.Name == d.Name && pd.Generation == d.Generation {
				p = pd
			}
		}
		matched := map[string]float64{
			detector.MetricMessagesSent:          growth(d.MessagesSent, p.MessagesSent),
			detector.MetricMessagesReceived:      growth(d.MessagesReceived, p.MessagesReceived),
			detector.MetricMessageByteSize:       growth(d.BytesSent, p.BytesSent),
			detector.MetricAuthorizationFailures: growth(d.AuthorizationFailures, p.AuthorizationFailures),
		}
		for metric, in := range matched {
			for _, op := range []string{detector.DimensionIn, detector.DimensionNotIn} {
				series := detector.SeriesName(metric, &proto.MetricDimension{DimensionName: d.Name, Operator: op})
				if !wanted[series] {
					continue
				}
				v := in
				if op == detector.DimensionNotIn {
					v = max(totals[metric]-in, 0)
				}
				dps = append(dps, detector.Datapoint{Metric: series, Value: countValue(v)})
			}
		}
	}
	slices.SortFunc(dps, func(a, b detector.Datapoint) int { return strings.Compare(a.Metric, b.Metric) })
	return dps
}

// growth is how much a count grew; a count that went down (its source
// started again) grew by its whole value.
func growth(cur, prev uint64) float64 {
	if cur < prev {
		return float64(cur)
	}
	return float64(cur - prev)
}

func countValue(n float64) detector.Value { return detector.Value{Kind: detector.KindCount, Number: n} }

// connectedIn reports whether a connection was open at some time in
// [start, end).
func connectedIn(conns []BrokerConnection, start, end time.Time) bool {
	for _, k := range conns {
		if k.Start.Before(end) && (k.End.IsZero() || !k.End.Before(start)) {
			return true
		}
	}
	return false
}

// activeAddrs returns the addresses of the connections open at some time
// in [start, end), sorted and without repeats.
func activeAddrs(conns []BrokerConnection, start, end time.Time) []netip.Addr {
	var out []netip.Addr
	for _, k := range conns {
		if k.Addr.IsValid() && k.Start.Before(end) && (k.End.IsZero() || !k.End.Before(start)) {
			out = append(out, k.Addr.Unmap())
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

// observeSilence evaluates vigil:report-silence for every connected thing
// whose profiles retain it: the whole seconds since its last accepted
// report, or since it connected when it has not reported since then.
func (s *Service) observeSilence(b *store.Batch, now time.Time) []retainedReport {
	retained := *s.retain.metrics.Load()
	if !retainsAny(retained, detector.MetricReportSilence) {
		return nil
	}
	var out []retainedReport
	s.opts.Broker.EachThing(func(c BrokerCounts) {
		since, ok := c.connectedAt(now)
		if !ok {
			return
		}
		profiles := s.reg.ProfilesFor(c.Thing)
		if !wantedSeries(retained, profiles)[detector.MetricReportSilence] {
			return
		}
		if st := s.ingest[c.Thing]; st != nil && st.LastReport.After(since) {
			since = st.LastReport
		}
		silence := max(float64(int64(now.Sub(since)/time.Second)), 0)
		dps := []detector.Datapoint{{Metric: detector.MetricReportSilence, Value: countValue(silence)}}
		s.record(b, s.eng.Observe(now, c.Thing, profiles, dps))
		out = append(out, retainedReport{now: now, thing: c.Thing, profiles: profiles, dps: dps})
	})
	s.saveStates(b)
	return out
}

// retainsAny reports whether some profile retains the metric.
func retainsAny(retained map[string][]string, metric string) bool {
	for _, ms := range retained {
		if slices.Contains(ms, metric) {
			return true
		}
	}
	return false
}

// syncBrokerDimensions gives the broker the dimensions the profiles use,
// when they changed. Called with s.mu held, or before Run.
func (s *Service) syncBrokerDimensions() {
	if s.opts.Broker == nil {
		return
	}
	dims := s.reg.DimensionsInUse()
	if slices.EqualFunc(dims, s.brokerWin.dims, func(a, b registry.Dimension) bool {
		return a.Name == b.Name && slices.Equal(a.StringValues, b.StringValues)
	}) {
		return
	}
	if err := s.opts.Broker.CountDimensions(dims); err != nil {
		s.log.Error().Err(err).Msg("broker dimensions")
		return
	}
	s.brokerWin.dims = dims
}
