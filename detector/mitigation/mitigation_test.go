package mitigation_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/mitigation"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// regGroups changes groups in a real registry, as the service does.
type regGroups struct {
	reg *registry.Registry
	db  *store.DB
}

func (g regGroups) commit(fn func(b *store.Batch) error) error {
	b := g.db.NewBatch()
	if err := fn(b); err != nil {
		b.Discard()
		return err
	}
	return g.db.Commit(b)
}

func (g regGroups) CreateGroup(gr registry.Group) (out registry.Group, err error) {
	err = g.commit(func(b *store.Batch) error { out, err = g.reg.CreateGroup(b, time.Now(), gr); return err })
	return out, err
}

func (g regGroups) AddThingToGroup(group, thing string) error {
	return g.commit(func(b *store.Batch) error { return g.reg.AddThingToGroup(b, group, thing) })
}

func (g regGroups) RemoveThingFromGroup(group, thing string) error {
	return g.commit(func(b *store.Batch) error { return g.reg.RemoveThingFromGroup(b, group, thing) })
}

// disconnects records the things disconnected.
type disconnects struct {
	mu     sync.Mutex
	things []string
}

func (d *disconnects) Disconnect(thing string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.things = append(d.things, thing)
	return nil
}

func (d *disconnects) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.things)
}

type fixture struct {
	db    *store.DB
	reg   *registry.Registry
	disc  *disconnects
	now   time.Time
	clock func() time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, reg: registry.New(), disc: &disconnects{}, now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	f.clock = func() time.Time { return f.now }
	b := db.NewBatch()
	for _, name := range []string{"t1", "t2"} {
		if _, err := f.reg.CreateThing(b, f.now, name, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) manager(t testing.TB) *mitigation.Manager {
	t.Helper()
	m, err := mitigation.New(mitigation.Options{DB: f.db, Groups: regGroups{f.reg, f.db}, Disconnector: f.disc, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func executions(t *testing.T, m *mitigation.Manager, f mitigation.ExecutionFilter) []mitigation.Execution {
	t.Helper()
	xs, err := m.Executions(f)
	if err != nil {
		t.Fatal(err)
	}
	return xs
}

func TestQuarantineTimeBox(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t)
	e, err := m.Quarantine(mitigation.Request{Thing: "t1", QuarantineParams: mitigation.QuarantineParams{DurationSeconds: 60}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Group != mitigation.DefaultQuarantineGroup || e.Until != f.now.Add(time.Minute).UnixMilli() {
		t.Fatalf("entry %+v", e)
	}
	if !m.Quarantined("t1") || m.Quarantined("t2") {
		t.Fatal("Quarantined disagrees with the quarantine")
	}
	if got := f.reg.GroupsOf("t1"); !slices.Equal(got, []string{"quarantine"}) {
		t.Fatalf("groups of t1: %v", got)
	}
	if got := f.disc.list(); !slices.Equal(got, []string{"t1"}) {
		t.Fatalf("disconnected %v", got)
	}

	f.now = f.now.Add(59 * time.Second)
	m.Tick(f.now)
	if !m.Quarantined("t1") {
		t.Fatal("released before the end of its time box")
	}
	// A restart keeps the quarantine and its time box.
	m = f.manager(t)
	f.now = f.now.Add(time.Second)
	m.Tick(f.now)
	if m.Quarantined("t1") || len(f.reg.GroupsOf("t1")) != 0 {
		t.Fatal("not released at the end of its time box")
	}
	xs := executions(t, m, mitigation.ExecutionFilter{Thing: "t1"})
	if len(xs) != 2 || xs[0].ActionType != mitigation.ActionQuarantine || xs[1].ActionType != mitigation.ActionRelease ||
		xs[1].Message != "time box ended" || xs[1].Status != mitigation.Successful {
		t.Fatalf("executions %+v", xs)
	}
}

func TestQuarantineErrors(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t)
	for _, tc := range []struct {
		name string
		r    mitigation.Request
		kind error
	}{
		{"unknown thing", mitigation.Request{Thing: "ghost"}, registry.ErrNotFound},
		{"negative duration", mitigation.Request{Thing: "t1", QuarantineParams: mitigation.QuarantineParams{DurationSeconds: -1}}, registry.ErrInvalid},
		{"bad group", mitigation.Request{Thing: "t1", QuarantineParams: mitigation.QuarantineParams{ThingGroupName: "a b"}}, registry.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.Quarantine(tc.r); !errors.Is(err, tc.kind) {
				t.Fatalf("Quarantine: %v, want %v", err, tc.kind)
			}
			if m.Quarantined(tc.r.Thing) {
				t.Fatal("quarantined after an error")
			}
		})
	}
	if xs := executions(t, m, mitigation.ExecutionFilter{Thing: "ghost"}); len(xs) != 1 || xs[0].Status != mitigation.Failed {
		t.Fatalf("the failed quarantine is not recorded: %+v", xs)
	}
	if _, err := m.Release("t2", "x"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Release of a free thing: %v", err)
	}
}

func TestProfileMitigations(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t)
	behaviors := []string{"ports", "bytes"}
	quarantine := mitigation.ActionParams{Quarantine: &mitigation.QuarantineParams{DurationSeconds: 3600}}
	for _, tc := range []struct {
		name string
		p    mitigation.ProfileMitigations
	}{
		{"unknown behavior", mitigation.ProfileMitigations{Profile: "p", Behaviors: []mitigation.BehaviorMitigation{
			{BehaviorName: "nope", Actions: []mitigation.ActionParams{quarantine}}}}},
		{"no action", mitigation.ProfileMitigations{Profile: "p", Behaviors: []mitigation.BehaviorMitigation{{BehaviorName: "ports"}}}},
		{"two types in one action", mitigation.ProfileMitigations{Profile: "p", Behaviors: []mitigation.BehaviorMitigation{
			{BehaviorName: "ports", Actions: []mitigation.ActionParams{{Quarantine: quarantine.Quarantine,
				AddThingsToGroups: &mitigation.AddThingsToGroupsParams{ThingGroupNames: []string{"g"}}}}}}}},
		{"behavior twice", mitigation.ProfileMitigations{Profile: "p", Behaviors: []mitigation.BehaviorMitigation{
			{BehaviorName: "ports", Actions: []mitigation.ActionParams{quarantine}},
			{BehaviorName: "ports", Actions: []mitigation.ActionParams{quarantine}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.SetProfileMitigations(tc.p, behaviors); !errors.Is(err, registry.ErrInvalid) {
				t.Fatalf("SetProfileMitigations: %v, want ErrInvalid", err)
			}
		})
	}
	_, err := m.SetProfileMitigations(mitigation.ProfileMitigations{Profile: "p", Behaviors: []mitigation.BehaviorMitigation{
		{BehaviorName: "ports", Actions: []mitigation.ActionParams{quarantine}}}}, behaviors)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	alarm := proto.ViolationEvent{ViolationID: "v1", ThingName: "t1", SecurityProfileName: "p",
		Behavior: proto.Behavior{Name: "ports"}, ViolationEventType: proto.InAlarm}
	other := alarm
	other.ViolationID, other.ThingName, other.Behavior.Name = "v2", "t2", "bytes"
	m.HandleEvent(alarm)
	m.HandleEvent(other) // a behavior without mitigation
	m.HandleEvent(alarm) // delivered twice
	deadline := time.Now().Add(5 * time.Second)
	for !m.Quarantined("t1") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !m.Quarantined("t1") || m.Quarantined("t2") {
		t.Fatal("the alarm's mitigation did not run, or ran for the wrong thing")
	}
	time.Sleep(50 * time.Millisecond)
	m.Apply(alarm) // after a restart, the outbox may deliver it again
	xs := executions(t, m, mitigation.ExecutionFilter{ViolationID: "v1"})
	if len(xs) != 1 || xs[0].Behavior != "ports" || xs[0].Profile != "p" {
		t.Fatalf("executions of v1: %+v", xs)
	}
	again := f.manager(t)
	again.Apply(alarm)
	if n := len(executions(t, again, mitigation.ExecutionFilter{ViolationID: "v1"})); n != 1 {
		t.Fatalf("after a restart the action ran again: %d executions", n)
	}
}

func TestRetention(t *testing.T) {
	f := newFixture(t)
	m, err := mitigation.New(mitigation.Options{DB: f.db, Groups: regGroups{f.reg, f.db}, Now: f.clock, Retention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Quarantine(mitigation.Request{Thing: "t1"}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(12 * time.Hour)
	if _, err := m.Release("t1", "done"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(13 * time.Hour)
	m.Tick(f.now)
	xs := executions(t, m, mitigation.ExecutionFilter{})
	if len(xs) != 1 || xs[0].ActionType != mitigation.ActionRelease {
		t.Fatalf("after retention: %+v, want the release only", xs)
	}
}
