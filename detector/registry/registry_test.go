package registry_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// env is a registry backed by a real store in a temporary directory.
type env struct {
	t   *testing.T
	dir string
	db  *store.DB
	reg *registry.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.open()
	t.Cleanup(func() {
		if err := e.db.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// open opens the store and loads the registry from it.
func (e *env) open() {
	e.t.Helper()
	db, err := store.Open(e.dir, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		e.t.Fatal(err)
	}
	reg, err := registry.Load(db)
	if err != nil {
		e.t.Fatal(err)
	}
	e.db, e.reg = db, reg
}

// reopen closes the store and loads a new registry from it.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

// try runs a change in a batch and commits the batch when the change
// succeeds; it returns the change's error.
func (e *env) try(fn func(b *store.Batch) error) error {
	e.t.Helper()
	b := e.db.NewBatch()
	if err := fn(b); err != nil {
		b.Discard()
		return err
	}
	if err := e.db.Commit(b); err != nil {
		e.t.Fatal(err)
	}
	return nil
}

// must runs a change that must succeed.
func (e *env) must(fn func(b *store.Batch) error) {
	e.t.Helper()
	if err := e.try(fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) thing(name string) {
	e.t.Helper()
	e.must(func(b *store.Batch) error {
		_, err := e.reg.CreateThing(b, t0, name, nil, "")
		return err
	})
}

func (e *env) group(name, parent string) {
	e.t.Helper()
	e.must(func(b *store.Batch) error {
		_, err := e.reg.CreateGroup(b, t0, registry.Group{Name: name, Parent: parent})
		return err
	})
}

func (e *env) member(group, thing string) {
	e.t.Helper()
	e.must(func(b *store.Batch) error { return e.reg.AddThingToGroup(b, group, thing) })
}

// profile creates a profile with one behavior on listening TCP ports.
func (e *env) profile(name string) registry.Profile {
	e.t.Helper()
	var p registry.Profile
	e.must(func(b *store.Batch) error {
		var err error
		p, err = e.reg.CreateProfile(b, t0, registry.Profile{Name: name, Behaviors: []proto.Behavior{countBehavior("ports", "aws:num-listening-tcp-ports", 10)}})
		return err
	})
	return p
}

func (e *env) attach(profile string, t registry.Target) {
	e.t.Helper()
	e.must(func(b *store.Batch) error { return e.reg.Attach(b, profile, t) })
}

func countBehavior(name, metric string, below uint64) proto.Behavior {
	return proto.Behavior{Name: name, Metric: metric, Criteria: &proto.BehaviorCriteria{
		ComparisonOperator: "less-than", Value: &proto.MetricValue{Count: proto.Count(below)}}}
}

func numberBehavior(name, metric string, below float64) proto.Behavior {
	return proto.Behavior{Name: name, Metric: metric, Criteria: &proto.BehaviorCriteria{
		ComparisonOperator: "less-than", Value: &proto.MetricValue{Number: &below}}}
}

// wantKind fails the test unless err is a registry *Error of the kind.
func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	var re *registry.Error
	switch {
	case kind == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case kind == nil:
	case !errors.Is(err, kind):
		t.Fatalf("error %v, want %v", err, kind)
	case !errors.As(err, &re) || re.Message == "":
		t.Fatalf("error %v is not a registry error with a message", err)
	}
}

// storedNames lists the names of the records of a kind in the store.
func storedNames(t *testing.T, db *store.DB, kind store.Kind) []string {
	t.Helper()
	var out []string
	if err := db.Scan(kind, "", func(name string, _ []byte) error {
		out = append(out, name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateThing(t *testing.T) {
	t.Parallel() // bcrypt at its default cost is slow under the race detector
	e := newEnv(t)
	attrs := map[string]string{"site": "lyon"}
	tests := []struct {
		name     string
		thing    string
		attrs    map[string]string
		password string
		kind     error
	}{
		{"new", "door-1", attrs, "", nil},
		// Creating a thing again with the same attributes succeeds, as in AWS.
		{"same again", "door-1", map[string]string{"site": "lyon"}, "", nil},
		{"other attributes", "door-1", map[string]string{"site": "nice"}, "", registry.ErrExists},
		{"again with a password", "door-1", attrs, "password1", registry.ErrExists},
		{"bad name", "door 1", nil, "", registry.ErrInvalid},
		{"slash in name", "a/b", nil, "", registry.ErrInvalid},
		{"empty name", "", nil, "", registry.ErrInvalid},
		{"bad attribute key", "door-2", map[string]string{"a b": "x"}, "", registry.ErrInvalid},
		{"attribute value too long", "door-2", map[string]string{"k": strings.Repeat("v", 801)}, "", registry.ErrInvalid},
		{"short password", "door-2", nil, "short", registry.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.try(func(b *store.Batch) error {
				got, err := e.reg.CreateThing(b, t0, tt.thing, tt.attrs, tt.password)
				if err == nil && (got.Name != tt.thing || got.Version != 1 || !got.Created.Equal(t0)) {
					t.Errorf("CreateThing = %+v", got)
				}
				return err
			})
			wantKind(t, err, tt.kind)
		})
	}
	if got := storedNames(t, e.db, store.Things); !slices.Equal(got, []string{"door-1"}) {
		t.Errorf("stored things %q, want door-1", got)
	}
	if th, ok := e.reg.Thing("door-1"); !ok || th.Attributes["site"] != "lyon" {
		t.Errorf("Thing(door-1) = %+v, %v", th, ok)
	}
}

func TestTooManyAttributes(t *testing.T) {
	e := newEnv(t)
	attrs := map[string]string{}
	for i := range registry.MaxAttributes + 1 {
		attrs["k"+strings.Repeat("x", i)] = "v"
	}
	err := e.try(func(b *store.Batch) error {
		_, err := e.reg.CreateThing(b, t0, "t", attrs, "")
		return err
	})
	wantKind(t, err, registry.ErrInvalid)
	delete(attrs, "k")
	e.must(func(b *store.Batch) error {
		_, err := e.reg.CreateThing(b, t0, "t", attrs, "")
		return err
	})
}

func TestHashPasswordLength(t *testing.T) {
	t.Parallel() // bcrypt at its default cost is slow under the race detector
	tests := []struct {
		name     string
		password string
		kind     error
	}{
		{"7 bytes", strings.Repeat("a", 7), registry.ErrInvalid},
		{"8 bytes", strings.Repeat("a", 8), nil},
		// bcrypt reads at most 72 bytes: a longer password would be cut.
		{"72 bytes", strings.Repeat("a", 72), nil},
		{"73 bytes", strings.Repeat("a", 73), registry.ErrInvalid},
		{"empty", "", registry.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := registry.HashPassword(tt.password)
			wantKind(t, err, tt.kind)
			if err == nil && (h == "" || h == tt.password) {
				t.Errorf("hash %q", h)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	e := newEnv(t)
	// A hash at bcrypt's lowest cost, stored as a thing record, keeps the
	// table fast; the registry reads whatever cost the hash says.
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e.must(func(b *store.Batch) error {
		b.Put(store.Things, "with", registry.Thing{Name: "with", Version: 1, Created: t0, PasswordHash: string(hash)})
		return nil
	})
	e.reopen()
	e.thing("without")
	tests := []struct {
		name      string
		thing     string
		password  string
		known, ok bool
	}{
		{"right password", "with", "correct horse", true, true},
		{"wrong password", "with", "correct horsf", true, false},
		{"empty password", "with", "", true, false},
		// A thing without a password accepts none, not even an empty one.
		{"no password set", "without", "", true, false},
		{"no password set, one given", "without", "anything", true, false},
		{"unknown thing", "nobody", "correct horse", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known, ok := e.reg.CheckPassword(tt.thing, []byte(tt.password))
			if known != tt.known || ok != tt.ok {
				t.Errorf("CheckPassword(%s, %q) = %v, %v; want %v, %v", tt.thing, tt.password, known, ok, tt.known, tt.ok)
			}
		})
	}
}

// TestPasswordOfCreatedThing gives a password at creation: it is stored
// hashed, and accepted after a reload.
func TestPasswordOfCreatedThing(t *testing.T) {
	t.Parallel() // bcrypt at its default cost is slow under the race detector
	e := newEnv(t)
	e.must(func(b *store.Batch) error {
		_, err := e.reg.CreateThing(b, t0, "door-1", nil, "correct horse")
		return err
	})
	if th, _ := e.reg.Thing("door-1"); th.PasswordHash == "" || strings.Contains(th.PasswordHash, "horse") {
		t.Errorf("password hash %q", th.PasswordHash)
	}
	e.reopen()
	if known, ok := e.reg.CheckPassword("door-1", []byte("correct horse")); !known || !ok {
		t.Errorf("after a reload: known %v, ok %v", known, ok)
	}
}

func TestSetPassword(t *testing.T) {
	t.Parallel() // bcrypt at its default cost is slow under the race detector
	e := newEnv(t)
	e.thing("t1")
	e.must(func(b *store.Batch) error { return e.reg.SetPassword(b, "t1", "first password") })
	if _, ok := e.reg.CheckPassword("t1", []byte("first password")); !ok {
		t.Fatal("the password set is not accepted")
	}
	if th, _ := e.reg.Thing("t1"); th.Version != 2 {
		t.Errorf("version after SetPassword = %d, want 2", th.Version)
	}
	e.must(func(b *store.Batch) error { return e.reg.SetPassword(b, "t1", "") })
	if known, ok := e.reg.CheckPassword("t1", []byte("first password")); !known || ok {
		t.Errorf("after removing the password: known %v, ok %v", known, ok)
	}
	wantKind(t, e.try(func(b *store.Batch) error { return e.reg.SetPassword(b, "nobody", "password1") }), registry.ErrNotFound)
	wantKind(t, e.try(func(b *store.Batch) error { return e.reg.SetPassword(b, "t1", "short") }), registry.ErrInvalid)
}

func TestDeleteThing(t *testing.T) {
	e := newEnv(t)
	e.thing("t1")
	e.thing("t2")
	e.group("g1", "")
	e.group("g2", "")
	e.member("g1", "t1")
	e.member("g2", "t1")
	e.member("g1", "t2")
	e.must(func(b *store.Batch) error { return e.reg.DeleteThing(b, "t1") })
	if _, ok := e.reg.Thing("t1"); ok {
		t.Error("t1 still registered")
	}
	if got := e.reg.GroupsOf("t1"); len(got) != 0 {
		t.Errorf("t1 still in groups %q", got)
	}
	if got, _ := e.reg.ThingsInGroup("g1", false); !slices.Equal(got, []string{"t2"}) {
		t.Errorf("g1 holds %q, want t2", got)
	}
	if got := storedNames(t, e.db, store.Memberships); !slices.Equal(got, []string{"g1\x00t2"}) {
		t.Errorf("stored memberships %q", got)
	}
	wantKind(t, e.try(func(b *store.Batch) error { return e.reg.DeleteThing(b, "t1") }), registry.ErrNotFound)
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	e.group("root", "")
	e.group("mid", "root")
	e.group("leaf", "mid")
	tests := []struct {
		name string
		g    registry.Group
		kind error
	}{
		{"exists", registry.Group{Name: "mid", Parent: "root"}, registry.ErrExists},
		{"missing parent", registry.Group{Name: "x", Parent: "nowhere"}, registry.ErrInvalid},
		{"bad name", registry.Group{Name: "a b"}, registry.ErrInvalid},
		{"bad attribute", registry.Group{Name: "x", Attributes: map[string]string{"": "v"}}, registry.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantKind(t, e.try(func(b *store.Batch) error {
				_, err := e.reg.CreateGroup(b, t0, tt.g)
				return err
			}), tt.kind)
		})
	}
	g, ancestors, ok := e.reg.Group("leaf")
	if !ok || g.Parent != "mid" || g.Version != 1 || !slices.Equal(ancestors, []string{"mid", "root"}) {
		t.Errorf("Group(leaf) = %+v, %q, %v", g, ancestors, ok)
	}
	if _, _, ok := e.reg.Group("nowhere"); ok {
		t.Error("Group of a missing group is found")
	}
}

// TestGroupDepth nests groups until the limit: the group one level deeper
// is refused.
func TestGroupDepth(t *testing.T) {
	e := newEnv(t)
	parent := ""
	for i := range registry.MaxGroupDepth {
		name := "g" + string(rune('0'+i))
		e.group(name, parent)
		parent = name
	}
	err := e.try(func(b *store.Batch) error {
		_, err := e.reg.CreateGroup(b, t0, registry.Group{Name: "too-deep", Parent: parent})
		return err
	})
	wantKind(t, err, registry.ErrLimitExceeded)
}

func TestMemberships(t *testing.T) {
	e := newEnv(t)
	e.thing("t1")
	e.thing("t2")
	e.thing("t3")
	e.group("root", "")
	e.group("mid", "root")
	e.group("leaf", "mid")
	e.group("other", "")
	e.member("root", "t1")
	e.member("leaf", "t2")
	e.member("other", "t3")
	e.member("leaf", "t1")
	e.member("leaf", "t1") // twice: no error, one membership
	tests := []struct {
		group     string
		recursive bool
		want      []string
	}{
		{"root", false, []string{"t1"}},
		{"root", true, []string{"t1", "t2"}},
		{"mid", false, nil},
		{"mid", true, []string{"t1", "t2"}},
		{"leaf", true, []string{"t1", "t2"}},
		{"other", true, []string{"t3"}},
	}
	for _, tt := range tests {
		got, err := e.reg.ThingsInGroup(tt.group, tt.recursive)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ThingsInGroup(%s, %v) = %q, %v; want %q", tt.group, tt.recursive, got, err, tt.want)
		}
	}
	if got := e.reg.GroupsOf("t1"); !slices.Equal(got, []string{"leaf", "root"}) {
		t.Errorf("GroupsOf(t1) = %q", got)
	}
	errs := []struct {
		name string
		fn   func(b *store.Batch) error
		kind error
	}{
		{"add to a missing group", func(b *store.Batch) error { return e.reg.AddThingToGroup(b, "nowhere", "t1") }, registry.ErrNotFound},
		{"add a missing thing", func(b *store.Batch) error { return e.reg.AddThingToGroup(b, "root", "nobody") }, registry.ErrNotFound},
		{"remove from a missing group", func(b *store.Batch) error { return e.reg.RemoveThingFromGroup(b, "nowhere", "t1") }, registry.ErrNotFound},
		{"remove a non-member", func(b *store.Batch) error { return e.reg.RemoveThingFromGroup(b, "other", "t1") }, registry.ErrNotFound},
		{"list a missing group", func(*store.Batch) error { _, err := e.reg.ThingsInGroup("nowhere", true); return err }, registry.ErrNotFound},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, e.try(tt.fn), tt.kind) })
	}
	e.must(func(b *store.Batch) error { return e.reg.RemoveThingFromGroup(b, "leaf", "t1") })
	if got := e.reg.GroupsOf("t1"); !slices.Equal(got, []string{"root"}) {
		t.Errorf("GroupsOf(t1) after removal = %q", got)
	}
	if got := storedNames(t, e.db, store.Memberships); !slices.Equal(got, []string{"leaf\x00t2", "other\x00t3", "root\x00t1"}) {
		t.Errorf("stored memberships %q", got)
	}
}

func TestDeleteGroup(t *testing.T) {
	e := newEnv(t)
	e.thing("t1")
	e.thing("t2")
	e.group("root", "")
	e.group("child", "root")
	e.group("keep", "")
	e.member("root", "t1")
	e.member("keep", "t1")
	e.member("child", "t2")
	e.profile("p1")
	e.profile("p2")
	e.attach("p1", registry.GroupTarget("root"))
	e.attach("p1", registry.GroupTarget("keep"))
	e.attach("p2", registry.GroupTarget("root"))

	// A group with child groups cannot be deleted.
	wantKind(t, e.try(func(b *store.Batch) error { return e.reg.DeleteGroup(b, "root") }), registry.ErrInvalid)
	if _, _, ok := e.reg.Group("root"); !ok {
		t.Fatal("the refused delete removed the group")
	}
	e.must(func(b *store.Batch) error { return e.reg.DeleteGroup(b, "child") })
	e.must(func(b *store.Batch) error { return e.reg.DeleteGroup(b, "root") })
	wantKind(t, e.try(func(b *store.Batch) error { return e.reg.DeleteGroup(b, "root") }), registry.ErrNotFound)

	if got := e.reg.GroupsOf("t1"); !slices.Equal(got, []string{"keep"}) {
		t.Errorf("GroupsOf(t1) = %q, want keep", got)
	}
	if got, _ := e.reg.TargetsOf("p1"); !slices.Equal(got, []registry.Target{"thinggroup/keep"}) {
		t.Errorf("TargetsOf(p1) = %q", got)
	}
	if got, _ := e.reg.TargetsOf("p2"); len(got) != 0 {
		t.Errorf("TargetsOf(p2) = %q", got)
	}
	if got := storedNames(t, e.db, store.Memberships); !slices.Equal(got, []string{"keep\x00t1"}) {
		t.Errorf("stored memberships %q", got)
	}
	if got := storedNames(t, e.db, store.Targets); !slices.Equal(got, []string{"p1\x00thinggroup/keep"}) {
		t.Errorf("stored targets %q", got)
	}
	if got := storedNames(t, e.db, store.Groups); !slices.Equal(got, []string{"keep"}) {
		t.Errorf("stored groups %q", got)
	}
	// A new group of the same name starts empty and unattached.
	e.group("root", "")
	if got, _ := e.reg.ThingsInGroup("root", true); len(got) != 0 {
		t.Errorf("the recreated group holds %q", got)
	}
	if got := e.reg.ProfilesForTarget(registry.GroupTarget("root"), false); len(got) != 0 {
		t.Errorf("the recreated group has profiles %v", got)
	}
}

// TestLoadRoundTrip writes a registry of every kind of record, loads
// another from the store, and finds the same registry.
func TestLoadRoundTrip(t *testing.T) {
	t.Parallel() // bcrypt at its default cost is slow under the race detector
	e := newEnv(t)
	e.must(func(b *store.Batch) error {
		_, err := e.reg.CreateThing(b, t0, "t1", map[string]string{"site": "lyon"}, "password1")
		return err
	})
	e.thing("t2")
	e.thing("t3")
	e.must(func(b *store.Batch) error {
		_, err := e.reg.CreateGroup(b, t0, registry.Group{Name: "root", Description: "all sites", Attributes: map[string]string{"a": "b"}})
		return err
	})
	e.group("mid", "root")
	e.group("leaf", "mid")
	e.member("leaf", "t1")
	e.member("root", "t2")
	e.must(func(b *store.Batch) error {
		_, err := e.reg.CreateCustomMetric(b, t0, registry.CustomMetric{Name: "temperature", Type: proto.CustomNumber, DisplayName: "Temp"})
		return err
	})
	e.must(func(b *store.Batch) error {
		_, err := e.reg.CreateProfile(b, t0, registry.Profile{
			Name: "full", Description: "every field",
			Behaviors:                   []proto.Behavior{numberBehavior("hot", "temperature", 80), countBehavior("ports", "aws:num-listening-tcp-ports", 5)},
			AlertTargets:                map[string]registry.AlertTarget{"MQTT": {Topic: "alerts/full"}},
			AdditionalMetricsToRetain:   []string{"aws:all-bytes-out"},
			AdditionalMetricsToRetainV2: []registry.MetricToRetain{{Metric: "aws:all-bytes-in"}},
			MetricsExportConfig:         &registry.MetricsExportConfig{MQTTTopic: "export", RoleArn: "arn:aws:iam::1:role/r"},
			Tags:                        []registry.Tag{{Key: "team", Value: "sec"}},
		})
		return err
	})
	e.profile("p2")
	e.profile("p3")
	desc := "updated"
	e.must(func(b *store.Batch) error {
		_, err := e.reg.UpdateProfile(b, t0.Add(time.Hour), "p2", registry.ProfilePatch{Description: &desc})
		return err
	})
	e.attach("full", registry.GroupTarget("root"))
	e.attach("p2", registry.UnregisteredThings)
	e.attach("p3", registry.AllThings)
	e.attach("p3", registry.GroupTarget("leaf"))
	// Records that were written then removed must not come back.
	e.thing("gone")
	e.member("leaf", "gone")
	e.must(func(b *store.Batch) error { return e.reg.DeleteThing(b, "gone") })
	e.group("gone-group", "")
	e.attach("p2", registry.GroupTarget("gone-group"))
	e.must(func(b *store.Batch) error { return e.reg.DeleteGroup(b, "gone-group") })
	e.profile("gone-profile")
	e.attach("gone-profile", registry.AllThings)
	e.must(func(b *store.Batch) error { return e.reg.DeleteProfile(b, "gone-profile", nil) })

	before := snapshot(e.reg)
	e.reopen()
	after := snapshot(e.reg)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("the loaded registry differs:\nbefore %+v\nafter  %+v", before, after)
	}
}

// view is everything a registry answers, for comparing two registries.
type view struct {
	Things        []registry.Thing
	Groups        []registry.Group
	Ancestors     map[string][]string
	Members       map[string][]string
	GroupsOf      map[string][]string
	CustomMetrics []registry.CustomMetric
	Profiles      []registry.Profile
	Targets       map[string][]registry.Target
	Coverage      map[string][]string
	ForTarget     map[registry.Target][]registry.TargetMapping
}

func snapshot(r *registry.Registry) view {
	v := view{Things: r.Things(), Groups: r.Groups(), CustomMetrics: r.CustomMetrics(), Profiles: r.Profiles(),
		Ancestors: map[string][]string{}, Members: map[string][]string{}, GroupsOf: map[string][]string{},
		Targets: map[string][]registry.Target{}, Coverage: map[string][]string{}, ForTarget: map[registry.Target][]registry.TargetMapping{}}
	for _, g := range v.Groups {
		_, v.Ancestors[g.Name], _ = r.Group(g.Name)
		v.Members[g.Name], _ = r.ThingsInGroup(g.Name, true)
		v.ForTarget[registry.GroupTarget(g.Name)] = r.ProfilesForTarget(registry.GroupTarget(g.Name), true)
	}
	for _, th := range append(v.Things, registry.Thing{Name: "unregistered"}) {
		v.GroupsOf[th.Name] = r.GroupsOf(th.Name)
		v.Coverage[th.Name] = r.ProfilesFor(th.Name)
	}
	for _, p := range v.Profiles {
		v.Targets[p.Name], _ = r.TargetsOf(p.Name)
	}
	for _, t := range []registry.Target{registry.AllThings, registry.RegisteredThings, registry.UnregisteredThings} {
		v.ForTarget[t] = r.ProfilesForTarget(t, true)
	}
	return v
}

// TestConcurrentUse reads coverage while other goroutines change targets
// and memberships; the race detector checks the locking.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	e.thing("t1")
	e.group("g", "")
	e.profile("p")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					_ = e.reg.ProfilesFor("t1")
					_ = e.reg.ProfilesForTarget(registry.GroupTarget("g"), true)
				}
			}
		})
	}
	for range 20 {
		e.attach("p", registry.GroupTarget("g"))
		e.member("g", "t1")
		e.must(func(b *store.Batch) error { return e.reg.Detach(b, "p", registry.GroupTarget("g")) })
		e.must(func(b *store.Batch) error { return e.reg.RemoveThingFromGroup(b, "g", "t1") })
	}
	close(stop)
	wg.Wait()
	if got := e.reg.ProfilesFor("t1"); len(got) != 0 {
		t.Errorf("ProfilesFor(t1) = %q after the last detach", got)
	}
}
