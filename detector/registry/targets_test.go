package registry_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
)

// TestCoverage pins the package doc's sentence on targets: all/things
// covers every thing that reports, all/registered-things the created ones,
// all/unregistered-things the others, and thinggroup/G the things in G and
// in every group below G.
func TestCoverage(t *testing.T) {
	e := newEnv(t)
	e.group("root", "")
	e.group("mid", "root")
	e.group("leaf", "mid")
	e.group("other", "")
	for _, th := range []struct{ name, group string }{
		{"in-leaf", "leaf"}, {"in-mid", "mid"}, {"in-root", "root"}, {"in-other", "other"}, {"no-group", ""},
	} {
		e.thing(th.name)
		if th.group != "" {
			e.member(th.group, th.name)
		}
	}
	e.thing("in-two")
	e.member("leaf", "in-two")
	e.member("other", "in-two")
	for profile, target := range map[string]registry.Target{
		"all": registry.AllThings, "reg": registry.RegisteredThings, "unreg": registry.UnregisteredThings,
		"root": registry.GroupTarget("root"), "mid": registry.GroupTarget("mid"),
		"leaf": registry.GroupTarget("leaf"), "other": registry.GroupTarget("other"),
	} {
		e.profile(profile)
		e.attach(profile, target)
	}
	e.profile("unattached")
	tests := []struct {
		thing string
		want  []string
	}{
		// Three levels deep: the groups above a thing's group cover it.
		{"in-leaf", []string{"all", "leaf", "mid", "reg", "root"}},
		{"in-mid", []string{"all", "mid", "reg", "root"}},
		{"in-root", []string{"all", "reg", "root"}},
		{"in-other", []string{"all", "other", "reg"}},
		{"no-group", []string{"all", "reg"}},
		// A thing in two groups is covered once by each profile.
		{"in-two", []string{"all", "leaf", "mid", "other", "reg", "root"}},
		// A thing that reports without being created.
		{"unknown", []string{"all", "unreg"}},
	}
	for _, tt := range tests {
		t.Run(tt.thing, func(t *testing.T) {
			if got := e.reg.ProfilesFor(tt.thing); !slices.Equal(got, tt.want) {
				t.Errorf("ProfilesFor(%s) = %q, want %q", tt.thing, got, tt.want)
			}
			// The second answer comes from the cache and must agree.
			if got := e.reg.ProfilesFor(tt.thing); !slices.Equal(got, tt.want) {
				t.Errorf("cached ProfilesFor(%s) = %q, want %q", tt.thing, got, tt.want)
			}
		})
	}
}

// TestCoverageCacheInvalidated fills the coverage cache, makes one change,
// and checks that the next answer follows the change.
func TestCoverageCacheInvalidated(t *testing.T) {
	g := registry.GroupTarget("g")
	tests := []struct {
		name   string
		setup  func(e *env)
		change func(r *registry.Registry, b *store.Batch) error
		before []string
		after  []string
	}{
		{"attach",
			func(e *env) { e.thing("t"); e.group("g", ""); e.member("g", "t"); e.profile("p") },
			func(r *registry.Registry, b *store.Batch) error { return r.Attach(b, "p", g) },
			nil, []string{"p"}},
		{"attach to an ancestor",
			func(e *env) { e.thing("t"); e.group("g", ""); e.group("c", "g"); e.member("c", "t"); e.profile("p") },
			func(r *registry.Registry, b *store.Batch) error { return r.Attach(b, "p", g) },
			nil, []string{"p"}},
		{"detach",
			func(e *env) { e.thing("t"); e.profile("p"); e.attach("p", registry.AllThings) },
			func(r *registry.Registry, b *store.Batch) error { return r.Detach(b, "p", registry.AllThings) },
			[]string{"p"}, nil},
		{"add to group",
			func(e *env) { e.thing("t"); e.group("g", ""); e.profile("p"); e.attach("p", g) },
			func(r *registry.Registry, b *store.Batch) error { return r.AddThingToGroup(b, "g", "t") },
			nil, []string{"p"}},
		{"add to a child group",
			func(e *env) { e.thing("t"); e.group("g", ""); e.group("c", "g"); e.profile("p"); e.attach("p", g) },
			func(r *registry.Registry, b *store.Batch) error { return r.AddThingToGroup(b, "c", "t") },
			nil, []string{"p"}},
		{"remove from group",
			func(e *env) { e.thing("t"); e.group("g", ""); e.member("g", "t"); e.profile("p"); e.attach("p", g) },
			func(r *registry.Registry, b *store.Batch) error { return r.RemoveThingFromGroup(b, "g", "t") },
			[]string{"p"}, nil},
		{"create thing",
			func(e *env) {
				e.profile("reg")
				e.profile("unreg")
				e.attach("reg", registry.RegisteredThings)
				e.attach("unreg", registry.UnregisteredThings)
			},
			func(r *registry.Registry, b *store.Batch) error {
				_, err := r.CreateThing(b, t0, "t", nil, "")
				return err
			},
			[]string{"unreg"}, []string{"reg"}},
		{"delete thing",
			func(e *env) {
				e.thing("t")
				e.group("g", "")
				e.member("g", "t")
				e.profile("grp")
				e.profile("reg")
				e.profile("unreg")
				e.attach("grp", g)
				e.attach("reg", registry.RegisteredThings)
				e.attach("unreg", registry.UnregisteredThings)
			},
			func(r *registry.Registry, b *store.Batch) error { return r.DeleteThing(b, "t") },
			[]string{"grp", "reg"}, []string{"unreg"}},
		{"delete group",
			func(e *env) { e.thing("t"); e.group("g", ""); e.member("g", "t"); e.profile("p"); e.attach("p", g) },
			func(r *registry.Registry, b *store.Batch) error { return r.DeleteGroup(b, "g") },
			[]string{"p"}, nil},
		{"delete profile",
			func(e *env) { e.thing("t"); e.profile("p"); e.attach("p", registry.AllThings) },
			func(r *registry.Registry, b *store.Batch) error { return r.DeleteProfile(b, "p", nil) },
			[]string{"p"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(e)
			if got := e.reg.ProfilesFor("t"); !slices.Equal(got, tt.before) {
				t.Fatalf("before: ProfilesFor(t) = %q, want %q", got, tt.before)
			}
			e.must(func(b *store.Batch) error { return tt.change(e.reg, b) })
			if got := e.reg.ProfilesFor("t"); !slices.Equal(got, tt.after) {
				t.Errorf("after: ProfilesFor(t) = %q, want %q", got, tt.after)
			}
		})
	}
}

func TestAttachDetach(t *testing.T) {
	e := newEnv(t)
	e.group("g", "")
	e.profile("p")
	tests := []struct {
		name string
		fn   func(b *store.Batch) error
		kind error
	}{
		{"attach", func(b *store.Batch) error { return e.reg.Attach(b, "p", registry.GroupTarget("g")) }, nil},
		// Attaching twice is not an error.
		{"attach again", func(b *store.Batch) error { return e.reg.Attach(b, "p", registry.GroupTarget("g")) }, nil},
		{"missing profile", func(b *store.Batch) error { return e.reg.Attach(b, "nope", registry.AllThings) }, registry.ErrNotFound},
		{"missing group", func(b *store.Batch) error { return e.reg.Attach(b, "p", registry.GroupTarget("nope")) }, registry.ErrNotFound},
		{"detach unattached", func(b *store.Batch) error { return e.reg.Detach(b, "p", registry.AllThings) }, registry.ErrNotFound},
		{"detach missing profile", func(b *store.Batch) error { return e.reg.Detach(b, "nope", registry.AllThings) }, registry.ErrNotFound},
		{"attach all", func(b *store.Batch) error { return e.reg.Attach(b, "p", registry.AllThings) }, nil},
		{"detach group", func(b *store.Batch) error { return e.reg.Detach(b, "p", registry.GroupTarget("g")) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, e.try(tt.fn), tt.kind) })
	}
	if got, err := e.reg.TargetsOf("p"); err != nil || !slices.Equal(got, []registry.Target{registry.AllThings}) {
		t.Errorf("TargetsOf(p) = %q, %v", got, err)
	}
	if got := storedNames(t, e.db, store.Targets); !slices.Equal(got, []string{"p\x00all/things"}) {
		t.Errorf("stored targets %q", got)
	}
	_, err := e.reg.TargetsOf("nope")
	wantKind(t, err, registry.ErrNotFound)
}

// TestProfilesPerTargetLimit attaches profiles to one target up to the
// limit of 5: the sixth is refused, other targets are not affected, and a
// detach makes room again.
func TestProfilesPerTargetLimit(t *testing.T) {
	e := newEnv(t)
	for i := range registry.MaxProfilesPerTarget + 1 {
		e.profile(fmt.Sprintf("p%d", i))
	}
	for i := range registry.MaxProfilesPerTarget {
		e.attach(fmt.Sprintf("p%d", i), registry.AllThings)
	}
	sixth := fmt.Sprintf("p%d", registry.MaxProfilesPerTarget)
	attach := func(profile string, t registry.Target) error {
		return e.try(func(b *store.Batch) error { return e.reg.Attach(b, profile, t) })
	}
	wantKind(t, attach(sixth, registry.AllThings), registry.ErrLimitExceeded)
	// Attaching one of the five again is not a sixth.
	wantKind(t, attach("p0", registry.AllThings), nil)
	wantKind(t, attach(sixth, registry.RegisteredThings), nil)
	if got := e.reg.ProfilesForTarget(registry.AllThings, false); len(got) != registry.MaxProfilesPerTarget {
		t.Errorf("all/things has %d profiles, want %d", len(got), registry.MaxProfilesPerTarget)
	}
	e.must(func(b *store.Batch) error { return e.reg.Detach(b, "p0", registry.AllThings) })
	wantKind(t, attach(sixth, registry.AllThings), nil)
	// Deleting a profile frees its places too.
	e.must(func(b *store.Batch) error { return e.reg.DeleteProfile(b, "p1", nil) })
	wantKind(t, attach("p0", registry.AllThings), nil)
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want registry.Target
		ok   bool
	}{
		{"all/things", registry.AllThings, true},
		{"all/registered-things", registry.RegisteredThings, true},
		{"all/unregistered-things", registry.UnregisteredThings, true},
		{"thinggroup/factory-1", "thinggroup/factory-1", true},
		{"arn:aws:iot:eu-west-1:123456789012:all/registered-things", registry.RegisteredThings, true},
		{"arn:aws:iot:eu-west-1:123456789012:thinggroup/factory-1", "thinggroup/factory-1", true},
		{registry.ARNPrefix + "all/things", registry.AllThings, true},
		// Names may hold colons; the ARN splits at the first five.
		{"arn:aws:iot:eu-west-1:123456789012:thinggroup/a:b", "thinggroup/a:b", true},
		{"", "", false},
		{"all", "", false},
		{"all/nothing", "", false},
		{"All/Things", "", false},
		{"thinggroup/", "", false},
		{"thinggroup/a/b", "", false},
		{"thing/door-1", "", false},
		{"arn:aws:iot:eu-west-1", "", false},
		{"arn:aws:iot:eu-west-1:123456789012:thing/door-1", "", false},
		{"arn:aws:iot:eu-west-1:123456789012:", "", false},
		{"arn:aws:iot:eu-west-1:123456789012:thinggroup/", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := registry.ParseTarget(tt.in)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Fatalf("ParseTarget(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				if back, err := registry.ParseTarget(got.ARN()); err != nil || back != got {
					t.Errorf("ParseTarget(%q.ARN()) = %q, %v", got, back, err)
				}
				return
			}
			wantKind(t, err, registry.ErrInvalid)
		})
	}
}

func TestTargetGroup(t *testing.T) {
	if g, ok := registry.GroupTarget("g1").Group(); !ok || g != "g1" {
		t.Errorf("GroupTarget(g1).Group() = %q, %v", g, ok)
	}
	if _, ok := registry.AllThings.Group(); ok {
		t.Error("all/things has a group")
	}
}

// TestProfilesForTargetRecursive lists the profiles of a group target with
// and without those of its ancestors: each attachment once, none of the
// groups below or beside.
func TestProfilesForTargetRecursive(t *testing.T) {
	e := newEnv(t)
	e.group("root", "")
	e.group("mid", "root")
	e.group("leaf", "mid")
	e.group("below", "leaf")
	e.group("other", "")
	for _, p := range []string{"a", "b", "c", "d", "e"} {
		e.profile(p)
	}
	e.attach("a", registry.GroupTarget("leaf"))
	e.attach("a", registry.GroupTarget("root")) // one profile at two levels
	e.attach("b", registry.GroupTarget("mid"))
	e.attach("c", registry.GroupTarget("other"))
	e.attach("d", registry.AllThings)
	e.attach("e", registry.GroupTarget("below"))
	m := func(p, g string) registry.TargetMapping {
		return registry.TargetMapping{Profile: p, Target: registry.GroupTarget(g)}
	}
	tests := []struct {
		name      string
		target    registry.Target
		recursive bool
		want      []registry.TargetMapping
	}{
		{"leaf", registry.GroupTarget("leaf"), false, []registry.TargetMapping{m("a", "leaf")}},
		{"leaf recursive", registry.GroupTarget("leaf"), true, []registry.TargetMapping{m("a", "leaf"), m("a", "root"), m("b", "mid")}},
		{"mid recursive", registry.GroupTarget("mid"), true, []registry.TargetMapping{m("a", "root"), m("b", "mid")}},
		{"root recursive", registry.GroupTarget("root"), true, []registry.TargetMapping{m("a", "root")}},
		{"other recursive", registry.GroupTarget("other"), true, []registry.TargetMapping{m("c", "other")}},
		{"all things recursive", registry.AllThings, true, []registry.TargetMapping{{Profile: "d", Target: registry.AllThings}}},
		{"missing group", registry.GroupTarget("nowhere"), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.reg.ProfilesForTarget(tt.target, tt.recursive); !slices.Equal(got, tt.want) {
				t.Errorf("ProfilesForTarget(%s, %v) = %v, want %v", tt.target, tt.recursive, got, tt.want)
			}
		})
	}
}
