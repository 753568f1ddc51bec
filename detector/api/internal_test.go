package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestEpochSeconds(t *testing.T) {
	tests := []struct {
		ms   int64
		want string
	}{
		{0, "0.0"},
		{1560279000000, "1560279000.0"}, // AWS's own example of a whole second
		{1600780245290, "1600780245.29"},
		{1704164645678, "1704164645.678"},
		{1704164645001, "1704164645.001"}, // leading zeros of the fraction stay
		{-1500, "-1.5"},                   // before 1970: the sign covers the fraction
	}
	for _, tt := range tests {
		got, err := json.Marshal(epochSeconds(tt.ms))
		if err != nil || string(got) != tt.want {
			t.Errorf("%d ms: %s, %v; want %s", tt.ms, got, err, tt.want)
		}
		var back float64
		if err := json.Unmarshal(got, &back); err != nil || back != float64(tt.ms)/1000 {
			t.Errorf("%s reads back as %v, %v", got, back, err)
		}
	}
}

func TestTimeParam(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1700000000", time.Unix(1700000000, 0), true},
		{"1700000000.5", time.Unix(1700000000, 500_000_000), true},
		{"1700000000.123456", time.Unix(1700000000, 123_456_000), true},
		{"2023-11-14T22:13:20Z", time.Unix(1700000000, 0), true},
		{"2023-11-14T22:13:20.25Z", time.Unix(1700000000, 250_000_000), true},
		{"2023-11-14T23:13:20+01:00", time.Unix(1700000000, 0), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"NaN", time.Time{}, false},
		{"1e300", time.Time{}, false},
		{"2023-11-14", time.Time{}, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/?t="+url.QueryEscape(tt.in), nil)
		got, err := timeParam(r, "t")
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("%q: %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestInternalFailureIsLogged(t *testing.T) {
	var logs bytes.Buffer
	w := httptest.NewRecorder()
	writeError(w, httptest.NewRequest("GET", "/api/things", nil), zerolog.New(&logs), errors.New("disk on fire"))
	if w.Code != http.StatusInternalServerError || w.Header().Get("x-amzn-ErrorType") != InternalFailure {
		t.Errorf("status %d, type %q", w.Code, w.Header().Get("x-amzn-ErrorType"))
	}
	if strings.Contains(w.Body.String(), "disk on fire") || !strings.Contains(w.Body.String(), `"message"`) {
		t.Errorf("body %s", w.Body)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("not logged: %q", logs.String())
	}
}

func TestPaginateBoundaries(t *testing.T) {
	items := []string{"a", "b", "c"}
	id := func(s string) string { return s }
	tests := []struct {
		after string
		max   int
		want  string
		more  bool
	}{
		{"", 3, "[a b c]", false}, // exactly one full page: no token
		{"", 2, "[a b]", true},
		{"b", 2, "[c]", false},
		{"bb", 5, "[c]", false}, // the last key was deleted meanwhile
		{"c", 5, "[]", false},
	}
	for _, tt := range tests {
		got, next := paginate(items, id, page{listing: "x", after: tt.after, max: tt.max})
		if s := "[" + strings.Join(got, " ") + "]"; s != tt.want || (next != "") != tt.more {
			t.Errorf("after %q max %d: %s next %q; want %s more %v", tt.after, tt.max, s, next, tt.want, tt.more)
		}
	}
}

// FuzzReadJSON checks that any body is either decoded or refused with a
// 400 or 413 InvalidRequestException, never a panic or another error.
func FuzzReadJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, ``, `[]`, `null`, `{"behaviors":[{"name":"a","criteria":{"value":{"count":1}}}]}`,
		`{"alertTargets":{"SNS":{"x":1}}}`, `{"behaviors":[{"criteria":{"valeu":1}}]}`, `{"a":`, `{} x`,
		`{"behaviors":{"name":"a"}}`, `{"tags":[{"Key":1}]}`, `{"securityProfileName":"p"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		var dst updateProfileBody
		err := readJSON(httptest.NewRecorder(), r, &dst)
		if err == nil {
			return
		}
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.Type != InvalidRequest || (apiErr.Status != 400 && apiErr.Status != 413) || apiErr.Message == "" {
			t.Fatalf("body %q: %#v", body, err)
		}
	})
}
