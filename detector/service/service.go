package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/history"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// Defaults of Options.
const (
	DefaultBatchSize  = 512
	DefaultRetention  = 14 * 24 * time.Hour
	DefaultQueueDepth = 4096
	tickInterval      = time.Second
)

// Publisher sends a message from the detector: replies to devices and
// violation messages. The embedded broker and an MQTT client both fit.
// Publish runs on the service's committer, which the engine may be waiting
// for: whatever it runs synchronously (an inline subscriber of the embedded
// broker) must not call the service's changes (CreateProfile, Attach, ...),
// which wait for the engine; it queues them for another goroutine instead.
type Publisher interface {
	Publish(topic string, payload []byte, retain bool, qos byte) error
}

// Audience may be implemented by a Publisher that knows when nobody can
// receive a message: the replies to reports are then not made at all.
type Audience interface {
	// MayHaveSubscribers answers false only when no subscriber can
	// receive a message published to topic.
	MayHaveSubscribers(topic string) bool
}

// Options configures a Service. DB, Registry and Publisher are required.
type Options struct {
	DB        *store.DB
	Registry  *registry.Registry
	Publisher Publisher
	Logger    zerolog.Logger
	// Now is the server clock; nil means time.Now.
	Now func() time.Time
	// ReportTime takes datapoint times from report ids (epoch ms).
	ReportTime bool
	// MaxReportSize: 0 means proto.DefaultMaxReportSize.
	MaxReportSize int
	// MinInterval rejects reports sooner than this after the last accepted
	// one of the thing (Throttled); 0 turns it off.
	MinInterval time.Duration
	// LenientReportID accepts report ids that do not increase.
	LenientReportID bool
	// SilenceTimeout: 0 means detector.DefaultSilenceTimeout.
	SilenceTimeout time.Duration
	// MinPopulation: 0 means detector.DefaultMinPopulation.
	MinPopulation int
	// Retention: 0 means DefaultRetention.
	Retention time.Duration
	// BatchSize: 0 means DefaultBatchSize.
	BatchSize int
	// Registerer receives the service's Prometheus metrics; nil means none.
	Registerer prometheus.Registerer
	// History keeps the retained metrics' datapoints; nil keeps none.
	History *history.History
	// FleetStats keeps the per-window fleet summaries of the retained
	// numeric metrics; nil keeps none.
	FleetStats *fleetstats.Aggregator
	// Alerts takes the deliveries to profiles' webhooks; nil sends none.
	Alerts AlertOutbox
	// Broker gives the broker-side metrics; nil gives none (sidecar).
	Broker BrokerSource
}

// Service is the running detector.
type Service struct {
	opts    Options
	db      *store.DB
	reg     *registry.Registry
	log     zerolog.Logger
	queue   chan incoming
	metrics *serviceMetrics
	alerts  *alertMetrics

	mu      sync.Mutex // guards everything below: the engine and its mirrors
	eng     *detector.Engine
	ingest  map[string]*ingestState
	active  map[string]*ActiveRecord
	outSeq  uint64
	staged  []pendingMessage    // enqueued for the batch being prepared
	scratch []byte              // encodes the records of one thing
	state   detector.ThingState // a thing's state being saved
	clock   time.Time           // latest report time, with ReportTime
	lastGC  time.Time
	running bool            // Run is running: jobs go to commits
	commits chan *commitJob // prepared jobs, to the committer

	pendMu  sync.Mutex
	pending []pendingMessage // committed to the outbox, not yet published; guarded by pendMu

	acceptedCount atomic.Int64
	// flushMu keeps outbox publishing in order: one flush at a time.
	flushMu sync.Mutex
	retain  retention // its metrics are swapped whole; history and fleet lock themselves
	// brokerWin is guarded by mu.
	brokerWin brokerWindows
}

// incoming is a decoded report waiting for the engine, with what can be
// made of it without the engine: its datapoints and the reply to send if
// it is accepted.
type incoming struct {
	topic    proto.ReportTopic
	report   *proto.Report
	err      error
	sender   string
	received time.Time
	dps      []detector.Datapoint
	dpsBuf   *[]detector.Datapoint // where dps came from, to give it back
	buf      *proto.ReportBuffer   // where report was read, to give it back
	accept   reply
	acceptOK bool
}

// reportBuffers recycles the room reports are read into: a report is done
// with once the engine has taken it in (its datapoints, made beforehand,
// copy what they keep of it).
var reportBuffers = sync.Pool{New: func() any { return new(proto.ReportBuffer) }}

// recycle gives the report's buffer back, once the report is done with.
func (in *incoming) recycle() {
	if in.buf != nil {
		reportBuffers.Put(in.buf)
		in.buf, in.report = nil, nil
	}
}

type pendingMessage struct {
	seq uint64
	msg outboxEntry
}

// New loads the engine's state from the store and returns a Service ready
// to Run.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Registry == nil || opts.Publisher == nil {
		return nil, errors.New("new service: DB, Registry and Publisher are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	s := &Service{
		opts: opts, db: opts.DB, reg: opts.Registry, log: opts.Logger.With().Str("component", "detector").Logger(),
		queue:  make(chan incoming, DefaultQueueDepth),
		ingest: map[string]*ingestState{}, active: map[string]*ActiveRecord{},
		metrics: newServiceMetrics(opts.Registerer),
		retain:  retention{history: opts.History, fleet: opts.FleetStats},
	}
	s.alerts = newAlertMetrics(opts.Registerer)
	s.eng = detector.New(detector.Options{SilenceTimeout: opts.SilenceTimeout, MinPopulation: opts.MinPopulation, Lookup: opts.Registry.MetricLookup})
	s.brokerWin.begin(opts.Now())
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load restores profiles, engine state, ingest state, active violations and
// the outbox from the store.
func (s *Service) load() error {
	now := s.opts.Now()
	for _, p := range s.reg.Profiles() {
		if _, err := s.eng.SetProfile(now, detector.Profile{Name: p.Name, Behaviors: p.Behaviors}); err != nil {
			s.log.Error().Err(err).Str("profile", p.Name).Msg("stored profile no longer valid; it is not evaluated")
		}
	}
	scans := []struct {
		kind store.Kind
		fn   func(name string, data []byte) error
	}{
		{store.ThingStates, func(_ string, d []byte) error {
			st, err := detector.DecodeThingState(d)
			if err != nil {
				return err
			}
			s.eng.Restore(st)
			return nil
		}},
		{store.Ingest, func(name string, d []byte) error {
			st, err := decodeIngestState(d)
			if err != nil {
				return err
			}
			s.ingest[name] = st
			// The thing state is not saved for every report; the ingest
			// state is, with the report's time.
			s.eng.Seen(name, st.LastReport)
			if st.LastReport.After(s.clock) {
				s.clock = st.LastReport
			}
			return nil
		}},
		{store.Active, func(name string, d []byte) error {
			rec := &ActiveRecord{}
			if err := json.Unmarshal(d, rec); err != nil {
				return err
			}
			s.active[name] = rec
			return nil
		}},
	}
	for _, sc := range scans {
		if err := s.db.Scan(sc.kind, "", sc.fn); err != nil {
			return fmt.Errorf("load %s: %w", sc.kind, err)
		}
	}
	err := s.db.ScanOutbox(func(seq uint64, d []byte) error {
		var m outboxEntry
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		s.pending = append(s.pending, pendingMessage{seq, m})
		s.outSeq = max(s.outSeq, seq)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load outbox: %w", err)
	}
	s.metrics.activeViolations.Set(float64(len(s.active)))
	s.refreshRetained()
	s.log.Info().Int("things", s.eng.Things()).Int("active", len(s.active)).Int("outbox", len(s.pending)).Msg("state loaded")
	return nil
}

// HandleReport takes a message published on a report topic. It decodes the
// report on the caller's goroutine and queues it for the engine, blocking
// while the queue is full (backpressure on the publisher). sender is the
// authenticated thing that published it, or "" when unknown or trusted.
func (s *Service) HandleReport(topic string, payload []byte, sender string) {
	received := s.opts.Now()
	t, err := proto.ParseReportTopic(topic)
	if err != nil && t.Thing == "" {
		s.log.Debug().Err(err).Str("topic", topic).Msg("not a report topic; ignored")
		return
	}
	if t.Reply != proto.NoReply {
		return
	}
	in := incoming{topic: t, err: err, sender: sender, received: received}
	if in.err == nil {
		in.buf = reportBuffers.Get().(*proto.ReportBuffer)
		in.report, in.err = proto.DecodeOptions{MaxSize: s.opts.MaxReportSize}.DecodeInto(in.buf, t.Format, payload)
	}
	if in.err == nil {
		// Work that needs no engine state is done here, on the publisher's
		// goroutine, in parallel with the other publishers.
		in.dpsBuf = datapointBuffers.Get().(*[]detector.Datapoint)
		in.dps = detector.AppendDatapoints((*in.dpsBuf)[:0], in.report)
		in.accept, in.acceptOK = s.makeReply(t, proto.AcceptedReply(t.Thing, in.report.Header.ReportID, received.UnixMilli()))
		in.accept.accepted = true
	}
	s.queue <- in
}

// Run processes reports and ticks until ctx ends. It first publishes what
// the outbox still holds and the retained active violations.
func (s *Service) Run(ctx context.Context) error {
	finished := make(chan struct{})
	s.mu.Lock()
	s.commits = make(chan *commitJob, commitQueueDepth)
	s.running = true
	go s.commitLoop(s.commits, finished)
	s.republish()
	s.mu.Unlock()
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	batch := make([]incoming, 0, s.opts.BatchSize)
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.running = false
			close(s.commits)
			s.mu.Unlock()
			<-finished
			s.flushHistory()
			return nil
		case in := <-s.queue:
			batch = append(batch[:0], in)
			batch = s.drain(batch)
			s.process(batch)
		case <-ticker.C:
			s.tick()
		}
	}
}

// drain adds to the batch what is already queued, up to the batch size.
func (s *Service) drain(batch []incoming) []incoming {
	for len(batch) < s.opts.BatchSize {
		select {
		case in := <-s.queue:
			batch = append(batch, in)
		default:
			return batch
		}
	}
	return batch
}

// republish sends the retained active violations, which an in-memory
// broker has lost, and then the outbox left from before a restart. Called
// with s.mu held.
func (s *Service) republish() {
	msgs := make([]outboxEntry, 0, len(s.active))
	for _, rec := range s.active {
		msgs = append(msgs, activeMessage(rec))
	}
	s.submit(&commitJob{after: func() {
		for _, m := range msgs {
			if err := s.opts.Publisher.Publish(m.Topic, m.Payload, m.Retain, m.QoS); err != nil {
				s.log.Error().Err(err).Str("topic", m.Topic).Msg("republish active violation")
			}
		}
	}})
}

func activeMessage(rec *ActiveRecord) outboxEntry {
	payload, _ := json.Marshal(rec.ActiveViolation) // plain data: always encodes
	return outboxEntry{Topic: proto.ActiveViolationTopic(rec.SecurityProfileName, rec.ThingName, rec.Behavior.Name), Payload: payload, Retain: true, QoS: 1}
}

// reply is a reply to send once its batch is committed.
type reply struct {
	thing    string
	topic    string // "" when there is no message to send
	payload  []byte
	accepted bool
}

// process runs one batch of reports through the engine and hands the
// store batch to the committer.
func (s *Service) process(batch []incoming) {
	j := &commitJob{started: time.Now(), reports: len(batch), replies: make([]reply, 0, len(batch)),
		retained: make([]retainedReport, 0, len(batch))}
	s.mu.Lock()
	j.batch = s.db.NewBatch()
	for i := range batch {
		in := &batch[i]
		if r, ok := s.ingestOne(j, *in); ok {
			j.replies = append(j.replies, r)
			if r.accepted {
				j.accepted++
			}
		}
		in.recycle()
	}
	s.submit(j)
	s.mu.Unlock()
}

// ingestOne checks one report and, if it is accepted, evaluates it into
// j. It returns the reply to send.
func (s *Service) ingestOne(j *commitJob, in incoming) (reply, bool) {
	b := j.batch
	var id int64
	if in.report != nil {
		id = in.report.Header.ReportID
	}
	now := s.timeOf(in)
	err := in.err
	var st *ingestState
	if err == nil {
		st, err = s.admit(in, now)
	}
	if err != nil {
		s.metrics.rejected(err)
		s.log.Debug().Err(err).Str("thing", in.topic.Thing).Msg("report rejected")
		recycleDatapoints(in.dpsBuf, in.dps) // made before the report was refused; nothing keeps them
		return s.makeReply(in.topic, proto.RejectedReply(in.topic.Thing, id, in.received.UnixMilli(), err))
	}
	thing := in.topic.Thing
	st.LastReportID, st.LastReport = id, now
	s.scratch = st.appendBinary(s.scratch[:0])
	b.PutEncoded(store.Ingest, thing, s.scratch)
	profiles := s.reg.ProfilesFor(thing)
	events := s.eng.Observe(now, thing, profiles, in.dps)
	j.retained = append(j.retained, retainedReport{now: now, thing: thing, profiles: profiles, dps: in.dps, buf: in.dpsBuf})
	s.record(b, events)
	s.saveStates(b)
	return in.accept, in.acceptOK
}

// timeOf is a report's datapoint time.
func (s *Service) timeOf(in incoming) time.Time {
	if !s.opts.ReportTime || in.report == nil || in.err != nil {
		return in.received
	}
	t := time.UnixMilli(in.report.Header.ReportID).UTC()
	if t.After(s.clock) {
		s.clock = t
	}
	return t
}

// admit applies the checks that need the thing's history and the registry,
// and returns the thing's ingest state.
func (s *Service) admit(in incoming, now time.Time) (*ingestState, error) {
	thing := in.topic.Thing
	if in.sender != "" && in.sender != thing {
		return nil, &proto.Error{Code: proto.InvalidThingName, Field: "thingName",
			Message: fmt.Sprintf("%q may not publish reports for %q", in.sender, thing)}
	}
	st := s.ingest[thing]
	if st == nil {
		st = &ingestState{}
		s.ingest[thing] = st
	}
	id := in.report.Header.ReportID
	if !s.opts.LenientReportID && id <= st.LastReportID {
		return nil, &proto.Error{Code: proto.InvalidReportID, Field: "header.report_id",
			Message: fmt.Sprintf("%d is not greater than the last accepted report id %d", id, st.LastReportID)}
	}
	if s.opts.MinInterval > 0 && !st.LastReport.IsZero() && now.Sub(st.LastReport) < s.opts.MinInterval {
		return nil, &proto.Error{Code: proto.Throttled, Field: "report",
			Message: fmt.Sprintf("sent %v after the previous report; the minimum interval is %v", now.Sub(st.LastReport).Round(time.Millisecond), s.opts.MinInterval)}
	}
	return st, proto.CheckCustomMetrics(in.report, s.reg.CustomMetricType)
}

func (s *Service) makeReply(t proto.ReportTopic, r proto.Reply) (reply, bool) {
	topic := t.ReplyTopic(r.Status).String()
	if a, ok := s.opts.Publisher.(Audience); ok && !a.MayHaveSubscribers(topic) {
		return reply{thing: t.Thing}, true // nobody to send it to
	}
	payload, err := proto.EncodeReply(t.Format, r)
	if err != nil {
		s.log.Error().Err(err).Msg("encode reply")
		return reply{}, false
	}
	return reply{thing: t.Thing, topic: topic, payload: payload}, true
}

// saveStates writes the engine state of every thing that changed.
func (s *Service) saveStates(b *store.Batch) {
	for _, thing := range s.eng.TakeDirty() {
		if s.eng.StateInto(thing, &s.state) {
			var err error
			if s.scratch, err = s.state.AppendBinary(s.scratch[:0]); err != nil {
				s.log.Error().Err(err).Msg("thing state not saved")
				continue
			}
			b.PutEncoded(store.ThingStates, thing, s.scratch)
		} else {
			b.Delete(store.ThingStates, thing)
			b.Delete(store.Ingest, thing)
			delete(s.ingest, thing)
		}
	}
}

// record stores the events, updates the active violations and puts the
// messages to publish in the outbox.
func (s *Service) record(b *store.Batch, events []detector.Event) {
	for _, ev := range events {
		pe := toEvent(ev)
		switch ev.Type {
		case proto.InAlarm:
			rec := &ActiveRecord{Suppressed: ev.Suppressed, ActiveViolation: proto.ActiveViolation{
				ViolationID: pe.ViolationID, ThingName: pe.ThingName, SecurityProfileName: pe.SecurityProfileName,
				Behavior: pe.Behavior, LastViolationValue: pe.MetricValue, VerificationState: proto.Unknown,
				LastViolationTime: pe.ViolationEventTime, ViolationStartTime: pe.ViolationStartTime,
				StatisticalThreshold: pe.StatisticalThreshold,
			}}
			s.active[pe.ViolationID] = rec
			b.Put(store.Active, pe.ViolationID, rec)
			b.Put(store.Violations, pe.ViolationID, violationIndex{Thing: pe.ThingName, Profile: pe.SecurityProfileName, Start: pe.ViolationStartTime})
			s.enqueue(b, activeMessage(rec))
			s.metrics.raised.Inc()
		default:
			if rec := s.active[pe.ViolationID]; rec != nil {
				pe.VerificationState, pe.VerificationStateDescription = rec.VerificationState, rec.VerificationStateDescription
			}
			delete(s.active, pe.ViolationID)
			b.Delete(store.Active, pe.ViolationID)
			s.enqueue(b, outboxEntry{Topic: proto.ActiveViolationTopic(ev.Profile, ev.Thing, ev.Behavior.Name), Retain: true, QoS: 1})
			s.metrics.ended(ev.Type)
		}
		b.PutEvent(ev.Time, pe.ViolationID, eventSeq(ev.Type), EventRecord{ViolationEvent: pe, Suppressed: ev.Suppressed})
		payload, _ := json.Marshal(pe) // plain data: always encodes
		s.enqueue(b, outboxEntry{Topic: proto.ViolationTopic(ev.Profile, ev.Thing), Payload: payload, QoS: 1})
		s.alert(b, ev, payload)
		s.log.Info().Str("thing", ev.Thing).Str("profile", ev.Profile).Str("behavior", ev.Behavior.Name).
			Str("event", string(ev.Type)).Str("violation", ev.ViolationID).Msg("violation")
	}
	s.metrics.activeViolations.Set(float64(len(s.active)))
}

// eventSeq orders the events of one violation that share an instant.
func eventSeq(t proto.EventType) uint32 {
	switch t {
	case proto.InAlarm:
		return 0
	case proto.AlarmCleared:
		return 1
	}
	return 2
}

// enqueue adds a message to the outbox in the batch being prepared; it is
// published once the batch is committed. Called with s.mu held.
func (s *Service) enqueue(b *store.Batch, m outboxEntry) {
	s.outSeq++
	b.PutOutbox(s.outSeq, m)
	s.staged = append(s.staged, pendingMessage{s.outSeq, m})
}

// flushOutbox publishes the committed outbox messages in order and removes
// the published ones from the store. A failed publish stays for the next
// flush.
func (s *Service) flushOutbox() {
	s.alertsCommitted()
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.pendMu.Lock()
	todo := s.pending
	s.pending = nil
	s.pendMu.Unlock()
	if len(todo) == 0 {
		return
	}
	b := s.db.NewBatch()
	sent := 0
	for _, p := range todo {
		if err := s.opts.Publisher.Publish(p.msg.Topic, p.msg.Payload, p.msg.Retain, p.msg.QoS); err != nil {
			s.log.Warn().Err(err).Str("topic", p.msg.Topic).Msg("publish failed; will retry")
			break
		}
		b.DeleteOutbox(p.seq)
		sent++
	}
	// Not synced: after a crash, a deletion lost only means that a message
	// is published again, which at-least-once delivery allows.
	if err := s.db.CommitNoSync(b); err != nil {
		s.log.Error().Err(err).Msg("outbox cleanup failed; messages may be published again after a restart")
	}
	if sent < len(todo) {
		s.pendMu.Lock()
		s.pending = append(todo[sent:], s.pending...)
		s.pendMu.Unlock()
	}
}

// tick closes due windows, invalidates silent things, applies retention and
// retries the outbox.
func (s *Service) tick() {
	s.mu.Lock()
	now := s.opts.Now()
	if s.opts.ReportTime {
		now = s.clock
	}
	b := s.db.NewBatch()
	retained := s.observeBroker(b)
	if !now.IsZero() {
		s.record(b, s.eng.Tick(now))
		s.saveStates(b)
	}
	gc := !now.IsZero() && now.Sub(s.lastGC) > time.Hour
	if gc {
		s.lastGC = now
	}
	// The fleet windows close after every report before the tick is
	// retained: in the committer, in order.
	s.submit(&commitJob{batch: b, retained: retained, after: func() {
		s.tickRetained(now, gc)
		s.metrics.storeBytes.Set(float64(s.db.SizeBytes()))
	}})
	s.mu.Unlock()
	if gc {
		if err := s.db.DeleteEventsBefore(now.Add(-s.opts.Retention)); err != nil {
			s.log.Error().Err(err).Msg("retention")
		}
		if err := s.expireViolations(now.Add(-s.opts.Retention)); err != nil {
			s.log.Error().Err(err).Msg("retention of violation records")
		}
	}
}

// AcceptedReports returns how many reports were accepted since start.
func (s *Service) AcceptedReports() int64 { return s.acceptedCount.Load() }
