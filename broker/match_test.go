package broker

import "testing"

func TestMatchFilter(t *testing.T) {
	for _, tt := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/bc", false},
		{"a/b", "a/b/c", false},
		{"a/b", "a", false},
		{"a/+", "a/b", true},
		{"a/+", "a/", true}, // an empty level is a level
		{"a/+", "a/b/c", false},
		{"a/#", "a", true}, // # matches its parent level too
		{"a/#", "a/b/c", true},
		{"#", "a/b", true},
		{"#", "$SYS/x", false}, // wildcards first do not match $ topics
		{"+/x", "$vigil/x", false},
		{"$vigil/+/x", "$vigil/t/x", true},
		{"t/${iot:ClientId}/r", "t/d1/r", true},
		{"t/${iot:ClientId}/r", "t/d2/r", false},
		{"${iot:ClientId}/#", "d1/r", true},
		{"+/+", "a", false},
	} {
		if got := matchFilter(compileFilter(tt.filter), tt.topic, "d1"); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}
