package broker

import "testing"

func TestMayMatchReply(t *testing.T) {
	tests := []struct {
		filter string
		inline bool
		want   bool
	}{
		{"$vigil/things/d1/defender/metrics/json/accepted", false, true},
		{"$vigil/things/d1/defender/metrics/json/+", false, true},
		{"$aws/things/d1/defender/metrics/cbor/rejected", false, true},
		{"$vigil/things/+/defender/metrics/+/+", false, true},
		{"$vigil/things/d1/defender/metrics/#", false, true},
		{"$vigil/#", false, true},
		{"$aws/things/+/#", false, true},
		{"$share/g/$vigil/things/+/defender/metrics/json/accepted", false, true},
		{"$SHARE/g/$aws/#", false, true},
		{"#", true, true}, // mochi matches $ topics for inline subscribers
		{"+/things/+/defender/metrics/json/accepted", true, true},
		{"#", false, false}, // [MQTT-4.7.2-1]
		{"+/things/+/defender/metrics/json/accepted", false, false},
		{"$vigil/things/+/defender/metrics/+", false, false}, // reports, not replies
		{"$vigil/things/d1/defender/metrics/json", false, false},
		{"$vigil/things/d1/defender/metrics/xml/+", false, false},
		{"$vigil/things/d1/defender/metrics/json/other", false, false},
		{"$vigil/violations/#", false, false},
		{"$SYS/#", false, false},
		{"$share/g/#", false, true}, // mochi delivers $ topics to shared wildcards
		{"$share/g/+/things/+/defender/metrics/json/accepted", false, true},
		{"things/d1/defender/metrics/json/accepted", false, false},
	}
	for _, tt := range tests {
		if got := mayMatchReply(tt.filter, tt.inline); got != tt.want {
			t.Errorf("mayMatchReply(%q, inline=%v) = %v, want %v", tt.filter, tt.inline, got, tt.want)
		}
	}
}
