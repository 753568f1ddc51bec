package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeAPI mimics the Vigil HTTP API for the admin commands: it records
// every request and answers each "METHOD /path" from a queue of canned
// replies (the last one repeats). A request no queue expects gets the 404
// UnknownOperationException the real API gives.
type fakeAPI struct {
	mu      sync.Mutex
	replies map[string][]reply
	got     []gotRequest
	url     string
}

// reply is one canned answer.
type reply struct {
	status int    // 0: 200
	code   string // x-amzn-ErrorType
	body   string
	plain  bool // text/plain instead of JSON
}

// gotRequest is what a command sent.
type gotRequest struct {
	method, path string
	query        url.Values
	body         string
	contentType  string
}

func okReply(body string) reply { return reply{body: body} }

func awsError(status int, code, message string) reply {
	data, _ := json.Marshal(map[string]string{"message": message})
	return reply{status: status, code: code, body: string(data)}
}

func newFakeAPI(t *testing.T, replies map[string][]reply) *fakeAPI {
	t.Helper()
	f := &fakeAPI{replies: map[string][]reply{}}
	for k, v := range replies {
		f.replies[k] = v
	}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.EscapedPath()
	f.mu.Lock()
	f.got = append(f.got, gotRequest{r.Method, r.URL.EscapedPath(), r.URL.Query(), string(body), r.Header.Get("Content-Type")})
	queue, found := f.replies[key]
	var rep reply
	if found && len(queue) > 0 {
		rep = queue[0]
		if len(queue) > 1 {
			f.replies[key] = queue[1:]
		}
	} else {
		rep = awsError(http.StatusNotFound, "UnknownOperationException", "no API operation at "+key)
	}
	f.mu.Unlock()
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	if rep.code != "" {
		w.Header().Set("x-amzn-ErrorType", rep.code)
	}
	if rep.plain {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (f *fakeAPI) requests() []gotRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gotRequest(nil), f.got...)
}

// wantRequest is a request a command must send. In query and body, the
// value "*" matches any value; an empty body means the request has none.
type wantRequest struct {
	method, path string
	query        map[string]string
	body         string
}

// cliCase is one command line against the fake API.
type cliCase struct {
	name    string
	args    []string
	stdin   string
	replies map[string][]reply
	code    int
	stdout  string
	stderr  string
	// stderrHas is checked instead of stderr when set.
	stderrHas string
	requests  []wantRequest
	// check, when set, looks further at the requests sent.
	check func(t *testing.T, got []gotRequest)
}

// runCases runs each case with VIGIL_API pointing at a fresh fake API.
func runCases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, tc.replies)
			t.Setenv("VIGIL_API", api.url)
			code, stdout, stderr := runCLI(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if stdout != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout)
			}
			if tc.stderrHas != "" {
				if !strings.Contains(stderr, tc.stderrHas) {
					t.Errorf("stderr %q does not contain %q", stderr, tc.stderrHas)
				}
			} else if stderr != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr, tc.stderr)
			}
			checkRequests(t, api.requests(), tc.requests)
			if tc.check != nil {
				tc.check(t, api.requests())
			}
		})
	}
}

// runCLI runs a command line through run, with stdin as standard input.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(path, []byte(stdin), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	saved := os.Stdin
	os.Stdin = in
	defer func() { os.Stdin = saved }()
	var out, errs bytes.Buffer
	code = run(args, &out, &errs)
	return code, out.String(), errs.String()
}

func checkRequests(t *testing.T, got []gotRequest, want []wantRequest) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d requests, want %d: %v", len(got), len(want), got)
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.method != w.method || g.path != w.path {
			t.Errorf("request %d: %s %s, want %s %s", i, g.method, g.path, w.method, w.path)
		}
		if err := matchQuery(g.query, w.query); err != nil {
			t.Errorf("request %d (%s %s): %v", i, g.method, g.path, err)
		}
		if err := matchBody(g, w.body); err != nil {
			t.Errorf("request %d (%s %s): %v", i, g.method, g.path, err)
		}
	}
}

func matchQuery(got url.Values, want map[string]string) error {
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(got) != len(want) {
		return fmt.Errorf("query %v, want %v", got, want)
	}
	for _, k := range keys {
		w, ok := want[k]
		if !ok || len(got[k]) != 1 || (w != "*" && got[k][0] != w) {
			return fmt.Errorf("query %v, want %v", got, want)
		}
	}
	return nil
}

func matchBody(g gotRequest, want string) error {
	if want == "" {
		if g.body != "" {
			return fmt.Errorf("body %s, want none", g.body)
		}
		return nil
	}
	if g.contentType != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", g.contentType)
	}
	var gv, wv any
	if err := json.Unmarshal([]byte(g.body), &gv); err != nil {
		return fmt.Errorf("body %q is not JSON: %v", g.body, err)
	}
	if err := json.Unmarshal([]byte(want), &wv); err != nil {
		panic(fmt.Sprintf("test case body %q: %v", want, err))
	}
	if !jsonMatch(gv, wv) {
		return fmt.Errorf("body %s, want %s", g.body, want)
	}
	return nil
}

// jsonMatch compares decoded JSON; "*" in want matches any value.
func jsonMatch(got, want any) bool {
	if want == "*" {
		return got != nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			if gv, ok := g[k]; !ok || !jsonMatch(gv, wv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !jsonMatch(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

// outLines joins lines with a final newline, to write expected output.
func outLines(l ...string) string { return strings.Join(l, "\n") + "\n" }
