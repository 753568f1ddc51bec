package broker

import "testing"

// TestCanReadAlertTopics lets operators and anonymous devices read the
// alert topics of profiles, and nobody else.
func TestCanReadAlertTopics(t *testing.T) {
	tests := []struct {
		name   string
		s      *session
		filter string
		want   bool
	}{
		{"operator alert topic", operator, "alerts/scanners", true},
		{"operator alert tree", operator, "alerts/#", true},
		{"operator alert wildcard", operator, "alerts/+", true},
		{"operator shared alert topic", operator, "$share/ops/alerts/scanners", true},
		{"operator everything", operator, "#", false},
		{"operator any first level", operator, "+/scanners", false},
		{"operator empty first level", operator, "/alerts", false},
		{"anonymous alert topic", anonymous, "alerts/scanners", true},
		{"device alert topic", device, "alerts/scanners", false},
		{"fleet alert topic", fleet, "alerts/#", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.canRead(tt.filter); got != tt.want {
				t.Errorf("canRead(%q) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}
