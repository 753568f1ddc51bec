package detector

import (
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

var codecT0 = time.Date(2026, 3, 3, 8, 0, 0, 123456789, time.UTC)

// codecStates are states of every shape an alarm takes.
func codecStates() map[string]ThingState {
	quiet := Alarm{Profile: "scanners", Behavior: "bytes-out", Fingerprint: "b64839424c5f55b1"}
	counting := Alarm{Profile: "scanners", Behavior: "ports", Fingerprint: "be1504f5077bdfb3", Violations: 2,
		LastViolationTime: codecT0, LastValue: &Value{Kind: KindPorts, Ports: []uint16{22, 443, 4444}}}
	active := Alarm{Profile: "scanners", Behavior: "peers", Fingerprint: "0011223344556677", Violations: 3, Compliant: 1,
		Active: true, ViolationID: "0123456789abcdef0123456789abcdef", Start: codecT0.Add(-time.Hour), LastViolationTime: codecT0,
		LastValue: &Value{Kind: KindIPs, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")}}}
	statistical := Alarm{Profile: "fleet", Behavior: "bytes-p90", Fingerprint: "8899aabbccddeeff", Violations: 1,
		LastViolationTime: codecT0, LastValue: &Value{Kind: KindCount, Number: 52000},
		LastThreshold: &proto.ThresholdInfo{Statistic: "p90", Value: 17500.5, Population: 1000},
		WindowOpen:    true, WindowStart: codecT0, WindowValue: 1234.75,
		PendingStart: codecT0.Add(-5 * time.Minute), PendingValue: 987.25}
	custom := Alarm{Profile: "custom", Behavior: "names", Fingerprint: "ffeeddccbbaa9988", Violations: 1,
		LastValue: &Value{Kind: KindStrings, Strings: []string{"busybox", "nc"}}}
	return map[string]ThingState{
		"empty":       {Thing: "door-1"},
		"no alarms":   {Thing: "door-1", LastSeen: codecT0, Alarms: []Alarm{}},
		"quiet":       {Thing: "door-2", LastSeen: codecT0, Alarms: []Alarm{quiet}},
		"every shape": {Thing: "lyon-f1-door-7", LastSeen: codecT0, Alarms: []Alarm{quiet, counting, active, statistical, custom}},
	}
}

// sameState compares states by their JSON form, which is what the engine
// restores from; times compare as instants in UTC.
func sameState(t *testing.T, got, want ThingState) {
	t.Helper()
	if want.Alarms == nil {
		want.Alarms = []Alarm{}
	}
	if got.Alarms == nil {
		got.Alarms = []Alarm{}
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("decoded\n%s\nwant\n%s", g, w)
	}
}

func TestThingStateRoundTrip(t *testing.T) {
	for name, st := range codecStates() {
		t.Run(name, func(t *testing.T) {
			data, err := st.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeThingState(data)
			if err != nil {
				t.Fatal(err)
			}
			sameState(t, got, st)
			// Smaller than its JSON: it is written after every report.
			if js, _ := json.Marshal(st); len(data) >= len(js) {
				t.Errorf("binary form %d bytes, JSON %d", len(data), len(js))
			}
		})
	}
}

// TestThingStateGolden pins the binary form: stores written by one version
// are read by the next.
func TestThingStateGolden(t *testing.T) {
	data, err := codecStates()["every shape"].AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "thingstate-v1.hex")
	if os.Getenv("VIGIL_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(hex.EncodeToString(data)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := hex.DecodeString(strings.TrimSpace(string(golden)))
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(data) != hex.EncodeToString(want) {
		t.Errorf("binary form changed:\n got %x\nwant %x", data, want)
	}
	got, err := DecodeThingState(want)
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, got, codecStates()["every shape"])
}

// TestThingStateLegacyJSON reads a state the JSON way earlier stores held.
func TestThingStateLegacyJSON(t *testing.T) {
	st := codecStates()["every shape"]
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeThingState(data)
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, got, st)
}

func TestThingStateDecodeErrors(t *testing.T) {
	data, err := codecStates()["every shape"].AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Every cut of a valid state is refused, none panics.
	for n := range len(data) {
		if _, err := DecodeThingState(data[:n]); err == nil {
			t.Errorf("a state cut at %d of %d bytes decoded", n, len(data))
		}
	}
	tests := map[string][]byte{
		"unknown version":  {9, 0, 0, 0},
		"trailing bytes":   append(append([]byte{}, data...), 0),
		"huge alarm count": {stateVersion, 1, 'x', 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge string":      {stateVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad JSON":         []byte(`{"thing":`),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeThingState(in); err == nil {
				t.Errorf("decoded %x", in)
			}
		})
	}
}

// FuzzDecodeThingState checks that no input makes the decoder panic, and
// that whatever it accepts encodes back to a state that decodes the same.
func FuzzDecodeThingState(f *testing.F) {
	for _, st := range codecStates() {
		data, err := st.AppendBinary(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"thing":"t","alarms":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := DecodeThingState(data)
		if err != nil || data[0] == '{' {
			return // JSON times may lie beyond what Unix nanoseconds hold
		}
		again, err := st.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		back, err := DecodeThingState(again)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		sameState(t, back, st)
	})
}

func BenchmarkThingStateEncode(b *testing.B) {
	for _, name := range []string{"quiet", "every shape"} {
		st := codecStates()[name]
		b.Run(name+"/binary", func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf, _ = st.AppendBinary(buf[:0])
			}
		})
		b.Run(name+"/json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = json.Marshal(st)
			}
		})
	}
}
