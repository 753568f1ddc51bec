package broker

import (
	"strings"
	"testing"
)

var (
	device    = &session{Identity: Identity{Thing: "d1", Role: RoleDevice}}
	anonymous = &session{Identity: Identity{Thing: "a1", Role: RoleDevice}, anonymous: true}
	fleet     = &session{Identity: Identity{Thing: "sim", Role: RoleFleet}}
	operator  = &session{Identity: Identity{Thing: "ops", Role: RoleOperator}}
)

func TestCanPublish(t *testing.T) {
	tests := []struct {
		name  string
		s     *session
		topic string
		want  bool
	}{
		{"device own report json", device, "$vigil/things/d1/defender/metrics/json", true},
		{"device own report aws cbor", device, "$aws/things/d1/defender/metrics/cbor", true},
		{"device own report msgpack", device, "$vigil/things/d1/defender/metrics/msgpack", true},
		{"device other thing", device, "$vigil/things/d2/defender/metrics/json", false},
		{"device unknown format", device, "$vigil/things/d1/defender/metrics/xml", false},
		{"device unknown root", device, "vigil/things/d1/defender/metrics/json", false},
		{"device accepted reply", device, "$vigil/things/d1/defender/metrics/json/accepted", false},
		{"device rejected reply", device, "$aws/things/d1/defender/metrics/json/rejected", false},
		{"device violation", device, "$vigil/violations/p/d1", false},
		{"device active violation", device, "$vigil/active-violations/p/d1/b", false},
		{"device elsewhere in its tree", device, "$vigil/things/d1/shadow/update", false},
		{"device plain topic", device, "d1/metrics", false},
		// A prefix of the thing name is another thing.
		{"device name prefix", device, "$vigil/things/d10/defender/metrics/json", false},
		{"anonymous own report", anonymous, "$vigil/things/a1/defender/metrics/json", true},
		{"anonymous violation", anonymous, "$vigil/violations/p/a1", false},
		{"fleet any thing", fleet, "$vigil/things/d2/defender/metrics/json", true},
		{"fleet aws root", fleet, "$aws/things/d3/defender/metrics/cbor", true},
		{"fleet reply", fleet, "$vigil/things/d2/defender/metrics/json/accepted", false},
		{"fleet violation", fleet, "$vigil/violations/p/d2", false},
		{"operator report", operator, "$vigil/things/d1/defender/metrics/json", false},
		{"operator violation", operator, "$vigil/violations/p/d1", false},
		{"operator plain topic", operator, "ops/notes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.canPublish(tt.topic); got != tt.want {
				t.Errorf("canPublish(%q) = %v, want %v", tt.topic, got, tt.want)
			}
		})
	}
}

func TestCanRead(t *testing.T) {
	tests := []struct {
		name   string
		s      *session
		filter string
		want   bool
	}{
		{"device reply topic", device, "$vigil/things/d1/defender/metrics/json/accepted", true},
		{"device reply filter", device, "$vigil/things/d1/defender/metrics/json/+", true},
		{"device all its replies", device, "$aws/things/d1/defender/metrics/#", true},
		{"device any format", device, "$vigil/things/d1/defender/metrics/+/rejected", true},
		{"device shared reply filter", device, "$share/g/$vigil/things/d1/defender/metrics/json/+", true},
		{"device shared upper case", device, "$SHARE/g/$vigil/things/d1/defender/metrics/json/+", true},
		// The metrics level itself is not below the report tree.
		{"device metrics level", device, "$vigil/things/d1/defender/metrics", false},
		{"device above metrics", device, "$vigil/things/d1/defender/#", false},
		{"device its whole tree", device, "$vigil/things/d1/#", false},
		{"device other thing", device, "$vigil/things/d2/defender/metrics/json/+", false},
		{"device any thing", device, "$vigil/things/+/defender/metrics/json/+", false},
		{"device everything", device, "#", false},
		{"device root wildcard", device, "+/things/d1/defender/metrics/json/+", false},
		{"device violations", device, "$vigil/violations/#", false},
		{"device sys", device, "$SYS/#", false},
		{"device shared without group", device, "$share//$vigil/things/d1/defender/metrics/#", false},
		{"device shared without filter", device, "$share/g", false},
		{"anonymous own replies", anonymous, "$vigil/things/a1/defender/metrics/#", true},
		{"anonymous violations", anonymous, "$vigil/violations/#", true},
		{"anonymous active violations", anonymous, "$vigil/active-violations/p/+/+", true},
		{"anonymous other thing", anonymous, "$vigil/things/d1/defender/metrics/#", false},
		{"anonymous sys", anonymous, "$SYS/#", false},
		{"fleet any reply", fleet, "$vigil/things/+/defender/metrics/+/+", true},
		{"fleet one thing", fleet, "$aws/things/d2/defender/metrics/json/accepted", true},
		{"fleet all things", fleet, "$vigil/things/#", false},
		{"fleet thing wildcard", fleet, "$vigil/things/#/defender/metrics/json", false},
		{"fleet violations", fleet, "$vigil/violations/#", false},
		{"operator violations", operator, "$vigil/violations/#", true},
		{"operator violations root", operator, "$vigil/violations", true},
		{"operator one profile", operator, "$vigil/violations/p/+", true},
		{"operator active violations", operator, "$vigil/active-violations/#", true},
		{"operator sys", operator, "$SYS/#", true},
		{"operator sys topic", operator, "$SYS/broker/clients/connected", true},
		// A root that only starts like a violation root is another root.
		{"operator look-alike root", operator, "$vigil/violations-archive/#", false},
		{"operator all of vigil", operator, "$vigil/#", false},
		{"operator reports", operator, "$vigil/things/+/defender/metrics/+", false},
		{"operator everything", operator, "#", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.canRead(tt.filter); got != tt.want {
				t.Errorf("canRead(%q) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

// FuzzCanRead checks that whatever a device may read stays in its own
// report tree.
func FuzzCanRead(f *testing.F) {
	for _, seed := range []string{
		"$vigil/things/d1/defender/metrics/#", "$share/g/$aws/things/d1/defender/metrics/+",
		"$vigil/things/+/defender/metrics/#", "#", "$SHARE/x/#", "$vigil/things/d1/defender/metrics/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		if !device.canRead(filter) {
			return
		}
		f := unshare(filter)
		if !strings.HasPrefix(f, "$vigil/things/d1/defender/metrics/") && !strings.HasPrefix(f, "$aws/things/d1/defender/metrics/") {
			t.Errorf("device d1 may read %q", filter)
		}
	})
}
