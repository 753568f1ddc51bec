package api

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestPathAt(t *testing.T) {
	type criteria struct {
		Value struct {
			Count *uint64 `json:"count"`
		} `json:"value"`
		Duration *int `json:"durationSeconds"`
	}
	type behavior struct {
		Name     string   `json:"name"`
		Criteria criteria `json:"criteria"`
	}
	type inner struct {
		Behaviors []behavior `json:"behaviors"`
	}
	type body struct {
		inner
		Tags []struct {
			Key string `json:"Key"`
		} `json:"tags"`
	}
	tests := []struct {
		name, in, want string
	}{
		{"string for a number in the third element", `{"behaviors":[{"name":"a"},{"name":"b","criteria":{"value":{"count":1}}},{"name":"c","criteria":{"value":{"count":"lots"}}}]}`, "behaviors[2].criteria.value.count"},
		{"object for a number", `{"behaviors":[{"criteria":{"durationSeconds":{"x":1}}}]}`, "behaviors[0].criteria.durationSeconds"},
		{"array for a string", `{"behaviors":[{"name":["a"]}]}`, "behaviors[0].name"},
		{"number for an object, after nested arrays", `{"tags":[{"Key":"a"}],"behaviors":[{"name":"x"},{"name":"y","criteria":{"value":7}}]}`, "behaviors[1].criteria.value"},
		{"number for a string after whitespace", "{ \"behaviors\" : [ { \"name\" : 5 } ] }", "behaviors[0].name"},
		{"wrong top-level member", `{"behaviors":{"name":"x"}}`, "behaviors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v body
			err := json.Unmarshal([]byte(tc.in), &v)
			typ, ok := errors.AsType[*json.UnmarshalTypeError](err)
			if !ok {
				t.Fatalf("no type error: %v", err)
			}
			if got := pathAt([]byte(tc.in), typ.Offset); got != tc.want {
				t.Errorf("pathAt = %q, want %q (encoding/json says %q)", got, tc.want, typ.Field)
			}
		})
	}
}

func FuzzPathAt(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c"}]}`), int64(12))
	f.Add([]byte(`[[],{}]`), int64(3))
	f.Fuzz(func(t *testing.T, data []byte, offset int64) {
		_ = pathAt(data, offset) // must not panic on any input
	})
}
