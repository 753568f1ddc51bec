package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func TestAPIAddress(t *testing.T) {
	t.Run("VIGIL_API is used", func(t *testing.T) {
		api := newFakeAPI(t, map[string][]reply{"GET /api/things": {okReply(`{"things":[]}`)}})
		t.Setenv("VIGIL_API", api.url)
		if code, _, stderr := runCLI(t, "", "thing", "ls"); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
		checkRequests(t, api.requests(), []wantRequest{{method: "GET", path: "/api/things"}})
	})
	t.Run("--api wins over VIGIL_API", func(t *testing.T) {
		env := newFakeAPI(t, nil)
		flag := newFakeAPI(t, map[string][]reply{"GET /api/things": {okReply(`{"things":[]}`)}})
		t.Setenv("VIGIL_API", env.url)
		if code, _, stderr := runCLI(t, "", "thing", "ls", "--api", flag.url); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
		checkRequests(t, env.requests(), nil)
		checkRequests(t, flag.requests(), []wantRequest{{method: "GET", path: "/api/things"}})
	})
	t.Run("an address without scheme is http", func(t *testing.T) {
		api := newFakeAPI(t, map[string][]reply{"GET /api/things": {okReply(`{"things":[]}`)}})
		t.Setenv("VIGIL_API", strings.TrimPrefix(api.url, "http://"))
		if code, _, stderr := runCLI(t, "", "thing", "ls"); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
	})
	t.Run("a path prefix is kept", func(t *testing.T) {
		api := newFakeAPI(t, map[string][]reply{"GET /vigil/api/things": {okReply(`{"things":[]}`)}})
		if code, _, stderr := runCLI(t, "", "thing", "ls", "--api", api.url+"/vigil/"); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
	})
	t.Run("the default", func(t *testing.T) {
		_, stdout, _ := runCLI(t, "", "thing", "ls", "--help")
		if !strings.Contains(stdout, `(default "http://127.0.0.1:8080")`) {
			t.Errorf("help does not give the default API address:\n%s", stdout)
		}
	})
	t.Run("a bad URL", func(t *testing.T) {
		code, _, stderr := runCLI(t, "", "thing", "ls", "--api", "ftp://example.com")
		if code != 2 || !strings.Contains(stderr, `--api "ftp://example.com"`) {
			t.Errorf("exit code %d, stderr %q; want 2 and the bad URL named", code, stderr)
		}
	})
	t.Run("an unreachable server", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		t.Setenv("VIGIL_API", url)
		code, stdout, stderr := runCLI(t, "", "thing", "ls")
		want := "vigil: the server is not reachable at " + url + ": "
		if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit code %d, stderr %q; want 1 and one line starting %q", code, stderr, want)
		}
	})
}

func TestAPIErrors(t *testing.T) {
	cases := []struct {
		name   string
		reply  func(w http.ResponseWriter)
		stderr string
	}{
		{"code in the header", func(w http.ResponseWriter) {
			w.Header().Set("x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.iot/")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"thing \"a\" not found"}`)
		}, "vigil: thing \"a\" not found (HTTP 404 ResourceNotFoundException)\n"},
		{"code in __type", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"com.amazonaws.iot#InvalidRequestException","message":"bad"}`)
		}, "vigil: bad (HTTP 400 InvalidRequestException)\n"},
		{"no code: the status says it", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusGone)
			io.WriteString(w, `{"Message":"too many"}`)
		}, "vigil: too many (HTTP 410 LimitExceededException)\n"},
		{"no code and an ambiguous status", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"message":"busy"}`)
		}, "vigil: busy (HTTP 409 Conflict)\n"},
		{"a proxy's page", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>upstream down</html>\n<p>nginx</p>")
		}, "vigil: <html>upstream down</html> (HTTP 502 Bad Gateway)\n"},
		{"an empty answer", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, "vigil: the server answered Service Unavailable (HTTP 503 Service Unavailable)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { tc.reply(w) }))
			defer srv.Close()
			code, stdout, stderr := runCLI(t, "", "thing", "get", "a", "--api", srv.URL)
			if code != 1 || stdout != "" || stderr != tc.stderr {
				t.Errorf("exit code %d, stdout %q, stderr %q; want 1, nothing, %q", code, stdout, stderr, tc.stderr)
			}
		})
	}
}

func TestAdminUsage(t *testing.T) {
	t.Setenv("VIGIL_API", "http://127.0.0.1:1") // nothing may be called
	cases := []struct {
		name      string
		args      []string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{"unknown flag", []string{"thing", "ls", "--all"}, 2, "", "unknown flag: --all"},
		{"unknown output", []string{"thing", "ls", "-o", "yaml"}, 2, "", `-o "yaml": want table or json`},
		{"too many arguments", []string{"thing", "get", "a", "b"}, 2, "", "accepts 1 arg(s), received 2"},
		{"unknown subcommand", []string{"group", "list"}, 2, "", `unknown command "list" for "vigil group"`},
		{"a group alone prints its help", []string{"profile"}, 0, "Available Commands:", ""},
		{"help", []string{"profile", "apply", "--help"}, 0, "vigil profile apply -f cameras.yaml", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdoutHas) || !strings.Contains(stderr, tc.stderrHas) {
				t.Errorf("exit code %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tc.code, tc.stdoutHas, tc.stderrHas)
			}
			if tc.code == 2 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q: want one line", stderr)
			}
		})
	}
	t.Run("a bad value from the environment", func(t *testing.T) {
		t.Setenv("VIGIL_EXPECTED_VERSION", "three")
		code, _, stderr := runCLI(t, "", "profile", "rm", "cameras")
		if code != 2 || !strings.Contains(stderr, `VIGIL_EXPECTED_VERSION="three"`) {
			t.Errorf("exit code %d, stderr %q; want 2 and the variable named", code, stderr)
		}
	})
	t.Run("the environment sets any flag", func(t *testing.T) {
		api := newFakeAPI(t, map[string][]reply{"GET /api/things/cam-01": {okReply(`{"thingName":"cam-01"}`)}})
		t.Setenv("VIGIL_API", api.url)
		t.Setenv("VIGIL_OUTPUT", "json")
		code, stdout, _ := runCLI(t, "", "thing", "get", "cam-01")
		if code != 0 || stdout != outLines("{", `  "thingName": "cam-01"`, "}") {
			t.Errorf("exit code %d, stdout %q; want JSON", code, stdout)
		}
	})
}

// TestAdminHelp checks that every admin command has an example and a
// working --help.
func TestAdminHelp(t *testing.T) {
	var walk func(prefix []string, c *cobra.Command)
	walk = func(prefix []string, c *cobra.Command) {
		path := append(prefix, c.Name())
		if c.Example == "" {
			t.Errorf("%s has no example", strings.Join(path, " "))
		}
		code, stdout, _ := runCLI(t, "", append(path[1:], "--help")...)
		if code != 0 || !strings.Contains(stdout, "Examples:") {
			t.Errorf("%s --help: exit code %d, output %q", strings.Join(path, " "), code, stdout)
		}
		for _, sub := range c.Commands() {
			walk(path, sub)
		}
	}
	for _, c := range adminCommands() {
		walk([]string{"vigil"}, c)
	}
}

func TestFormatTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string // a JSON value
		want string
	}{
		{"epoch seconds, as the API writes them", `1600780245.29`, "2020-09-22T13:10:45Z"},
		{"whole seconds", `1700000000`, "2023-11-14T22:13:20Z"},
		{"epoch milliseconds, as MQTT events carry them", `1573786800000`, "2019-11-15T03:00:00Z"},
		{"RFC 3339", `"2023-11-14T23:13:20+01:00"`, "2023-11-14T22:13:20Z"},
		{"zero is no time", `0`, ""},
		{"absent", `null`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := decodeObject([]byte(`{"t":` + tc.in + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := o.time("t"); got != tc.want {
				t.Errorf("formatTime(%s) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseSpan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90m", 90 * time.Minute, true},
		{"24h", 24 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"0s", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"week", 0, false},
	} {
		got, err := parseSpan(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSpan(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
