package registry

import (
	"maps"
	"slices"
	"strings"

	"github.com/vigil-iot/vigil/detector/store"
)

// Target is what a profile is attached to, in its short form:
// "all/things", "all/registered-things", "all/unregistered-things" or
// "thinggroup/NAME".
type Target string

// The targets that cover things by registration.
const (
	AllThings          Target = "all/things"
	RegisteredThings   Target = "all/registered-things"
	UnregisteredThings Target = "all/unregistered-things"
)

// ARNPrefix starts every ARN Vigil hands out.
const ARNPrefix = "arn:vigil:iot:local:000000000000:"

// GroupTarget is the target of a thing group.
func GroupTarget(group string) Target { return Target("thinggroup/" + group) }

// ARN returns the target's ARN.
func (t Target) ARN() string { return ARNPrefix + string(t) }

// Group returns the group of a thinggroup target.
func (t Target) Group() (string, bool) { return strings.CutPrefix(string(t), "thinggroup/") }

// ParseTarget reads a target given as its short form or as any ARN that
// ends in one (so AWS ARNs work as they are).
func ParseTarget(s string) (Target, error) {
	short := s
	if strings.HasPrefix(s, "arn:") {
		parts := strings.SplitN(s, ":", 6)
		if len(parts) != 6 {
			return "", fail(ErrInvalid, "securityProfileTargetArn: %q is not an ARN", s)
		}
		short = parts[5]
	}
	switch t := Target(short); t {
	case AllThings, RegisteredThings, UnregisteredThings:
		return t, nil
	}
	if g, ok := Target(short).Group(); ok && g != "" && !strings.Contains(g, "/") {
		return Target(short), nil
	}
	return "", fail(ErrInvalid, "securityProfileTargetArn: %q is not all/things, all/registered-things, all/unregistered-things or thinggroup/NAME", s)
}

// Attach attaches a profile to a target; attaching twice is not an error.
func (r *Registry) Attach(b *store.Batch, profile string, t Target) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.profiles[profile] == nil {
		return fail(ErrNotFound, "security profile %q not found", profile)
	}
	if g, ok := t.Group(); ok && r.groups[g] == nil {
		return fail(ErrNotFound, "thing group %q not found", g)
	}
	if _, ok := r.targets[profile][t]; ok {
		return nil
	}
	n := 0
	for _, ts := range r.targets {
		if _, ok := ts[t]; ok {
			n++
		}
	}
	if n >= MaxProfilesPerTarget {
		return fail(ErrLimitExceeded, "target %s already has %d security profiles", t, MaxProfilesPerTarget)
	}
	r.addTarget(profile, t)
	b.Put(store.Targets, profile+"\x00"+string(t), struct{}{})
	r.changed()
	return nil
}

// Detach removes a profile from a target.
func (r *Registry) Detach(b *store.Batch, profile string, t Target) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.targets[profile][t]; !ok {
		return fail(ErrNotFound, "security profile %q is not attached to %s", profile, t)
	}
	delete(r.targets[profile], t)
	b.Delete(store.Targets, profile+"\x00"+string(t))
	r.changed()
	return nil
}

// TargetsOf lists a profile's targets.
func (r *Registry) TargetsOf(profile string) ([]Target, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.profiles[profile] == nil {
		return nil, fail(ErrNotFound, "security profile %q not found", profile)
	}
	return slices.Sorted(maps.Keys(r.targets[profile])), nil
}

// TargetMapping is one profile attached to one target.
type TargetMapping struct {
	Profile string
	Target  Target
}

// ProfilesForTarget lists the profiles attached to a target; with recursive
// and a group target, also those attached to the group's ancestors (which
// cover it too).
func (r *Registry) ProfilesForTarget(t Target, recursive bool) []TargetMapping {
	r.mu.RLock()
	defer r.mu.RUnlock()
	wanted := []Target{t}
	if g, ok := t.Group(); ok && recursive {
		for _, a := range r.ancestors(g) {
			if a != g { // ancestors starts with g itself
				wanted = append(wanted, GroupTarget(a))
			}
		}
	}
	var out []TargetMapping
	for _, profile := range slices.Sorted(maps.Keys(r.targets)) {
		for _, w := range wanted {
			if _, ok := r.targets[profile][w]; ok {
				out = append(out, TargetMapping{Profile: profile, Target: w})
			}
		}
	}
	return out
}

// ProfilesFor lists, in name order, the profiles that cover a thing.
func (r *Registry) ProfilesFor(thing string) []string {
	r.mu.RLock()
	if cached, ok := r.cover[thing]; ok {
		r.mu.RUnlock()
		return cached
	}
	covering, gen := r.coverage(thing), r.gen
	r.mu.RUnlock()
	r.mu.Lock()
	if r.gen == gen {
		r.cover[thing] = covering
	}
	r.mu.Unlock()
	return covering
}

func (r *Registry) coverage(thing string) []string {
	wanted := map[Target]struct{}{AllThings: {}}
	if r.things[thing] != nil {
		wanted[RegisteredThings] = struct{}{}
	} else {
		wanted[UnregisteredThings] = struct{}{}
	}
	for g := range r.thingGroups[thing] {
		for _, a := range r.ancestors(g) {
			wanted[GroupTarget(a)] = struct{}{}
		}
	}
	var out []string
	for profile, ts := range r.targets {
		for t := range ts {
			if _, ok := wanted[t]; ok {
				out = append(out, profile)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
