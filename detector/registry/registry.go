package registry

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// Limits of the registry, as AWS sets them where AWS has one.
const (
	MaxProfilesPerTarget = 5
	MaxGroupDepth        = 7
	MaxAttributes        = 50
)

// Registry is the in-memory index of the configuration, backed by the store.
type Registry struct {
	mu          sync.RWMutex
	things      map[string]*Thing
	groups      map[string]*Group
	members     map[string]map[string]struct{} // group -> things
	thingGroups map[string]map[string]struct{} // thing -> groups
	metrics     map[string]*CustomMetric
	profiles    map[string]*Profile
	targets     map[string]map[Target]struct{} // profile -> targets
	dimensions  map[string]*Dimension
	cover       map[string][]string // thing -> covering profiles, cached
	gen         uint64              // counts changes, to keep stale coverage out of the cache
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		things: map[string]*Thing{}, groups: map[string]*Group{}, members: map[string]map[string]struct{}{},
		thingGroups: map[string]map[string]struct{}{}, metrics: map[string]*CustomMetric{}, profiles: map[string]*Profile{},
		targets: map[string]map[Target]struct{}{}, cover: map[string][]string{},
	}
}

// Load reads the registry from the store.
func Load(db *store.DB) (*Registry, error) {
	r := New()
	loads := []struct {
		kind store.Kind
		fn   func(name string, data []byte) error
	}{
		{store.Things, func(_ string, d []byte) error {
			return decodeInto(d, r.things, func(t *Thing) string { return t.Name })
		}},
		{store.Groups, func(_ string, d []byte) error {
			return decodeInto(d, r.groups, func(g *Group) string { return g.Name })
		}},
		{store.CustomMetrics, func(_ string, d []byte) error {
			return decodeInto(d, r.metrics, func(m *CustomMetric) string { return m.Name })
		}},
		{store.Profiles, func(_ string, d []byte) error {
			return decodeInto(d, r.profiles, func(p *Profile) string { return p.Name })
		}},
		{store.Memberships, func(name string, _ []byte) error {
			group, thing, _ := strings.Cut(name, "\x00")
			r.addMember(group, thing)
			return nil
		}},
		{store.Targets, func(name string, _ []byte) error {
			profile, target, _ := strings.Cut(name, "\x00")
			r.addTarget(profile, Target(target))
			return nil
		}},
	}
	for _, l := range loads {
		if err := db.Scan(l.kind, "", l.fn); err != nil {
			return nil, fmt.Errorf("load %s records: %w", l.kind, err)
		}
	}
	if err := r.loadDimensions(db); err != nil {
		return nil, err
	}
	return r, nil
}

func decodeInto[T any](data []byte, into map[string]*T, name func(*T) string) error {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	into[name(v)] = v
	return nil
}

func (r *Registry) addMember(group, thing string) {
	if r.members[group] == nil {
		r.members[group] = map[string]struct{}{}
	}
	r.members[group][thing] = struct{}{}
	if r.thingGroups[thing] == nil {
		r.thingGroups[thing] = map[string]struct{}{}
	}
	r.thingGroups[thing][group] = struct{}{}
}

func (r *Registry) removeMember(b *store.Batch, group, thing string) {
	delete(r.members[group], thing)
	delete(r.thingGroups[thing], group)
	b.Delete(store.Memberships, group+"\x00"+thing)
}

func (r *Registry) addTarget(profile string, t Target) {
	if r.targets[profile] == nil {
		r.targets[profile] = map[Target]struct{}{}
	}
	r.targets[profile][t] = struct{}{}
}

// changed drops the coverage cache after a change of targets or groups.
func (r *Registry) changed() {
	clear(r.cover)
	r.gen++
}

func checkAttributes(attrs map[string]string) error {
	if len(attrs) > MaxAttributes {
		return fail(ErrInvalid, "attributes: at most %d, got %d", MaxAttributes, len(attrs))
	}
	for k, v := range attrs {
		if !detector.ValidName(k) || len(v) > 800 {
			return fail(ErrInvalid, "attributes: key %q must be 1 to 128 of a-z A-Z 0-9 : _ - and its value at most 800 bytes", k)
		}
	}
	return nil
}

// HashPassword returns the bcrypt hash of a thing password.
func HashPassword(password string) (string, error) {
	if len(password) < 8 || len(password) > 72 {
		return "", fail(ErrInvalid, "password: must be 8 to 72 bytes long")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CreateThing registers a thing. A password, when given, lets the thing
// authenticate to the broker. Creating a thing that exists with the same
// attributes succeeds (as in AWS); with other attributes it fails with
// ErrExists.
func (r *Registry) CreateThing(b *store.Batch, now time.Time, name string, attrs map[string]string, password string) (Thing, error) {
	if err := proto.ValidateThingName(name); err != nil || !detector.ValidName(name) {
		return Thing{}, fail(ErrInvalid, "thingName: %q must be 1 to 128 of a-z A-Z 0-9 : _ -", name)
	}
	if err := checkAttributes(attrs); err != nil {
		return Thing{}, err
	}
	hash := ""
	if password != "" {
		var err error
		if hash, err = HashPassword(password); err != nil {
			return Thing{}, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.things[name]; old != nil {
		if maps.Equal(old.Attributes, attrs) && password == "" {
			return *old, nil
		}
		return Thing{}, fail(ErrExists, "thing %q already exists", name)
	}
	t := &Thing{Name: name, Attributes: attrs, Version: 1, Created: now.UTC(), PasswordHash: hash}
	r.things[name] = t
	b.Put(store.Things, name, t)
	r.changed()
	return *t, nil
}

// SetPassword sets or replaces a thing's password ("" removes it).
func (r *Registry) SetPassword(b *store.Batch, name, password string) error {
	hash := ""
	if password != "" {
		var err error
		if hash, err = HashPassword(password); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.things[name]
	if t == nil {
		return fail(ErrNotFound, "thing %q not found", name)
	}
	t.PasswordHash = hash
	t.Version++
	b.Put(store.Things, name, t)
	return nil
}

// DeleteThing removes a thing and its memberships.
func (r *Registry) DeleteThing(b *store.Batch, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.things[name] == nil {
		return fail(ErrNotFound, "thing %q not found", name)
	}
	for g := range r.thingGroups[name] {
		r.removeMember(b, g, name)
	}
	delete(r.thingGroups, name)
	delete(r.things, name)
	b.Delete(store.Things, name)
	r.changed()
	return nil
}

// Thing returns a registered thing.
func (r *Registry) Thing(name string) (Thing, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copyOf(r.things, name)
}

// Things lists the registered things in name order.
func (r *Registry) Things() []Thing {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copiesByName(r.things)
}

// CheckPassword tells whether the thing is registered and whether the
// password is its own. A thing without a password accepts none.
func (r *Registry) CheckPassword(thing string, password []byte) (known, ok bool) {
	r.mu.RLock()
	t := r.things[thing]
	r.mu.RUnlock()
	if t == nil {
		return false, false
	}
	if t.PasswordHash == "" {
		return true, false
	}
	return true, bcrypt.CompareHashAndPassword([]byte(t.PasswordHash), password) == nil
}

// CreateGroup creates a thing group under parent ("" for a root group).
func (r *Registry) CreateGroup(b *store.Batch, now time.Time, g Group) (Group, error) {
	if !detector.ValidName(g.Name) {
		return Group{}, fail(ErrInvalid, "thingGroupName: %q must be 1 to 128 of a-z A-Z 0-9 : _ -", g.Name)
	}
	if err := checkAttributes(g.Attributes); err != nil {
		return Group{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups[g.Name] != nil {
		return Group{}, fail(ErrExists, "thing group %q already exists", g.Name)
	}
	if g.Parent != "" {
		if r.groups[g.Parent] == nil {
			return Group{}, fail(ErrInvalid, "parentGroupName: thing group %q not found", g.Parent)
		}
		if len(r.ancestors(g.Parent)) >= MaxGroupDepth {
			return Group{}, fail(ErrLimitExceeded, "parentGroupName: groups nest at most %d deep", MaxGroupDepth)
		}
	}
	g.Version, g.Created = 1, now.UTC()
	r.groups[g.Name] = &g
	b.Put(store.Groups, g.Name, &g)
	return g, nil
}

// ancestors returns a group and its ancestors, nearest first.
func (r *Registry) ancestors(group string) []string {
	var out []string
	for g := r.groups[group]; g != nil && len(out) <= MaxGroupDepth; g = r.groups[g.Parent] {
		out = append(out, g.Name)
	}
	return out
}

// DeleteGroup deletes a group without child groups, its memberships and the
// targets that name it.
func (r *Registry) DeleteGroup(b *store.Batch, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups[name] == nil {
		return fail(ErrNotFound, "thing group %q not found", name)
	}
	for _, g := range r.groups {
		if g.Parent == name {
			return fail(ErrInvalid, "thing group %q has child group %q; delete that first", name, g.Name)
		}
	}
	for thing := range r.members[name] {
		r.removeMember(b, name, thing)
	}
	delete(r.members, name)
	target := GroupTarget(name)
	for profile, ts := range r.targets {
		if _, ok := ts[target]; ok {
			delete(ts, target)
			b.Delete(store.Targets, profile+"\x00"+string(target))
		}
	}
	delete(r.groups, name)
	b.Delete(store.Groups, name)
	r.changed()
	return nil
}

// Group returns a thing group and its ancestors' names, parent first.
func (r *Registry) Group(name string) (Group, []string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	g := r.groups[name]
	if g == nil {
		return Group{}, nil, false
	}
	return *g, r.ancestors(name)[1:], true
}

// Groups lists the thing groups in name order.
func (r *Registry) Groups() []Group {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copiesByName(r.groups)
}

// AddThingToGroup puts a registered thing into a group.
func (r *Registry) AddThingToGroup(b *store.Batch, group, thing string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups[group] == nil {
		return fail(ErrNotFound, "thing group %q not found", group)
	}
	if r.things[thing] == nil {
		return fail(ErrNotFound, "thing %q not found", thing)
	}
	r.addMember(group, thing)
	b.Put(store.Memberships, group+"\x00"+thing, struct{}{})
	r.changed()
	return nil
}

// RemoveThingFromGroup takes a thing out of a group.
func (r *Registry) RemoveThingFromGroup(b *store.Batch, group, thing string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups[group] == nil {
		return fail(ErrNotFound, "thing group %q not found", group)
	}
	if _, ok := r.members[group][thing]; !ok {
		return fail(ErrNotFound, "thing %q is not in thing group %q", thing, group)
	}
	r.removeMember(b, group, thing)
	r.changed()
	return nil
}

// ThingsInGroup lists the things of a group in name order; recursive adds
// the things of every group below it.
func (r *Registry) ThingsInGroup(group string, recursive bool) ([]string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.groups[group] == nil {
		return nil, fail(ErrNotFound, "thing group %q not found", group)
	}
	set := map[string]struct{}{}
	for g := range r.groups {
		if g == group || (recursive && slices.Contains(r.ancestors(g), group)) {
			maps.Copy(set, r.members[g])
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// GroupsOf lists the groups a thing is directly in.
func (r *Registry) GroupsOf(thing string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.thingGroups[thing]))
}

// copyOf returns a copy of the record of that name. Called with r.mu held.
func copyOf[T any](m map[string]*T, name string) (T, bool) {
	v := m[name]
	if v == nil {
		var zero T
		return zero, false
	}
	return *v, true
}

// copiesByName returns copies of every record, in name order. Called with
// r.mu held.
func copiesByName[T any](m map[string]*T) []T {
	out := make([]T, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, *m[name])
	}
	return out
}
