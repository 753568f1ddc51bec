package agent_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/agent"
	"github.com/vigil-iot/vigil/agent/collect"
	"github.com/vigil-iot/vigil/proto"
)

func metric(name string, v proto.CustomValue) proto.CustomMetric {
	return proto.CustomMetric{Name: name, Value: v}
}

func number(f float64) proto.CustomValue {
	return proto.CustomValue{Type: proto.CustomNumber, Number: f}
}

func numbers(fs ...float64) proto.CustomValue {
	return proto.CustomValue{Type: proto.CustomNumberList, Numbers: fs}
}

func strs(ss ...string) proto.CustomValue {
	return proto.CustomValue{Type: proto.CustomStringList, Strings: append([]string{}, ss...)}
}

func ips(ss ...string) proto.CustomValue {
	v := proto.CustomValue{Type: proto.CustomIPList, IPs: []netip.Addr{}}
	for _, s := range ss {
		v.IPs = append(v.IPs, netip.MustParseAddr(s))
	}
	return v
}

func TestParseCustomMetrics(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []proto.CustomMetric
		wantErr string
	}{
		{name: "JSON block",
			in:   `{"cpu_usage": [{"number": 12.5}], "users": [{"string_list": ["alice"]}]}`,
			want: []proto.CustomMetric{metric("cpu_usage", number(12.5)), metric("users", strs("alice"))}},
		{name: "JSON block of every type, indented",
			in: "\n  {\n \"temps\": [{\"number_list\": [20, 21.5]}],\n \"peers\": [{\"ip_list\": [\"10.0.0.1\", \"2001:db8::2\"]}],\n" +
				" \"load\": [{\"number\": 0}]}\n",
			want: []proto.CustomMetric{metric("load", number(0)), metric("peers", ips("10.0.0.1", "2001:db8::2")), metric("temps", numbers(20, 21.5))}},
		{name: "empty JSON block", in: `{}`, want: []proto.CustomMetric{}},
		{name: "lines",
			in: "# metrics of pump 7\ncpu_usage number 12.5\n\npeers ip-address-list 10.0.0.1,10.0.0.2\n" +
				"  temps number-list 20,-3.5,1e3  \nusers string-list alice,bob\n",
			want: []proto.CustomMetric{
				metric("cpu_usage", number(12.5)), metric("peers", ips("10.0.0.1", "10.0.0.2")),
				metric("temps", numbers(20, -3.5, 1000)), metric("users", strs("alice", "bob")),
			}},
		{name: "lines out of order",
			in:   "zone number 1\nair_temp number 2\nmem number 3\n",
			want: []proto.CustomMetric{metric("air_temp", number(2)), metric("mem", number(3)), metric("zone", number(1))}},
		{name: "CRLF lines", in: "cpu number 1\r\nmem number 2\r\n", want: []proto.CustomMetric{metric("cpu", number(1)), metric("mem", number(2))}},
		// "Nobody is logged in" is a value, not a missing one.
		{name: "empty string list", in: "users string-list\n", want: []proto.CustomMetric{metric("users", strs())}},
		{name: "nothing", in: "", want: []proto.CustomMetric{}},
		{name: "only comments", in: "# nothing to report\n\n", want: []proto.CustomMetric{}},

		{name: "not a number", in: "cpu number high", wantErr: "line 1"},
		{name: "NaN", in: "cpu number NaN", wantErr: "not a finite number"},
		{name: "infinity in a list", in: "ok number 1\ntemps number-list 1,+Inf", wantErr: "line 2"},
		{name: "unknown type", in: "cpu float 1", wantErr: `unknown type "float"`},
		{name: "missing value", in: "cpu number", wantErr: "not a finite number"},
		{name: "too many fields", in: "cpu number 1 2", wantErr: "NAME TYPE VALUE"},
		{name: "name only", in: "cpu", wantErr: "NAME TYPE VALUE"},
		{name: "bad IP", in: "peers ip-address-list 10.0.0.300", wantErr: "not an IP address"},
		{name: "reserved name", in: "aws:cpu number 1", wantErr: "invalid name"},
		{name: "name with a dot", in: "cpu.usage number 1", wantErr: "invalid name"},
		{name: "name given twice", in: "cpu number 1\ncpu number 2", wantErr: `line 2: custom metric "cpu" given twice (first on line 1)`},
		{name: "JSON name given twice", in: `{"cpu": [{"number": 1}], "cpu": [{"number": 2}]}`, wantErr: "custom_metrics.cpu: given twice"},
		{name: "malformed JSON", in: `{"cpu": }`, wantErr: "custom_metrics"},
		{name: "JSON of the wrong type", in: `{"cpu": [{"number": "high"}]}`, wantErr: "cpu"},
		{name: "JSON of an unknown value key", in: `{"cpu": [{"float": 1}]}`, wantErr: "cpu"},
		{name: "JSON followed by junk", in: `{"cpu": [{"number": 1}]} x`, wantErr: "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := agent.ParseCustomMetrics([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCustomMetrics(%q): %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCustomMetrics(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("ParseCustomMetrics(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			checkInReport(t, got)
		})
	}
}

// checkInReport checks that parsed custom metrics make a valid report.
func checkInReport(t *testing.T, m []proto.CustomMetric) {
	t.Helper()
	r := agent.BuildReport(1, collect.Sample{}, nil, m)
	if err := r.Validate(); err != nil {
		t.Errorf("report with custom metrics %v does not validate: %v", m, err)
	}
}

func FuzzParseCustomMetrics(f *testing.F) {
	for _, seed := range []string{
		`{"cpu_usage": [{"number": 12.5}], "users": [{"string_list": ["alice"]}]}`,
		`{"peers": [{"ip_list": ["10.0.0.1"]}], "temps": [{"number_list": [1, 2]}]}`,
		"cpu_usage number 12.5\npeers ip-address-list 10.0.0.1,::1\n# c\nusers string-list a,b\n",
		"temps number-list 1,2,3\nusers string-list\n",
		"cpu number 1e308\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := agent.ParseCustomMetrics(data)
		if err != nil {
			return
		}
		// Whatever the parser accepts, the server must accept too.
		checkInReport(t, m)
	})
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "metrics")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFileSource(t *testing.T) {
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		want    []proto.CustomMetric
		wantErr string
	}{
		{name: "lines", path: func(t *testing.T) string { return writeFile(t, "cpu number 7\n") },
			want: []proto.CustomMetric{metric("cpu", number(7))}},
		{name: "JSON", path: func(t *testing.T) string { return writeFile(t, `{"users": [{"string_list": ["root"]}]}`) },
			want: []proto.CustomMetric{metric("users", strs("root"))}},
		{name: "missing file", path: func(t *testing.T) string { return filepath.Join(t.TempDir(), "absent") },
			wantErr: "no such file"},
		{name: "bad content", path: func(t *testing.T) string { return writeFile(t, "cpu number lots\n") },
			wantErr: "line 1"},
		// A runaway writer filling the file must not make the agent read
		// it all into memory.
		{name: "too large", path: func(t *testing.T) string {
			return writeFile(t, strings.Repeat("# padding to push the file over the limit\n", 4096))
		}, wantErr: "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := agent.FileSource{Path: tt.path(t)}.CustomMetrics(context.Background())
			checkSource(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestCommandSource(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	tests := []struct {
		name     string
		command  string
		timeout  time.Duration
		want     []proto.CustomMetric
		wantErr  string
		wantLess time.Duration // the call must return within this time
	}{
		{name: "lines", command: `echo "cpu number 12.5"; echo "users string-list alice,bob"`,
			want: []proto.CustomMetric{metric("cpu", number(12.5)), metric("users", strs("alice", "bob"))}},
		{name: "JSON", command: `printf '{"load": [{"number_list": [1, 5, 15]}]}'`,
			want: []proto.CustomMetric{metric("load", numbers(1, 5, 15))}},
		{name: "no output", command: "true", want: []proto.CustomMetric{}},
		{name: "failing command", command: "echo 'sensor offline' >&2; exit 3", wantErr: "exit status 3 (stderr: sensor offline)"},
		{name: "missing program", command: "/nonexistent/metrics", wantErr: "exit status 127"},
		{name: "garbage output", command: "echo hello world", wantErr: "line 1"},
		{name: "too much output", command: "yes 'x number 1' | head -c 100000", wantErr: "printed more than"},
		{name: "hangs", command: "sleep 30", timeout: 200 * time.Millisecond,
			wantErr: "killed: no result within 200ms", wantLess: 5 * time.Second},
		// The shell's child holds the output pipe open after the shell is
		// killed; the whole process group must go.
		{name: "hangs in a child process", command: "sleep 30; echo 'late number 1'", timeout: 200 * time.Millisecond,
			wantErr: "killed: no result within 200ms", wantLess: 5 * time.Second},
		{name: "hangs after printing", command: "echo 'cpu number 1'; sleep 30", timeout: 200 * time.Millisecond,
			wantErr: "killed: no result within 200ms", wantLess: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			got, err := agent.CommandSource{Command: tt.command, Timeout: tt.timeout}.CustomMetrics(context.Background())
			if took := time.Since(start); tt.wantLess > 0 && took > tt.wantLess {
				t.Errorf("took %v, want under %v", took, tt.wantLess)
			}
			checkSource(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestCommandSourceStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := agent.CommandSource{Command: "sleep 30"}.CustomMetrics(ctx)
	if err == nil {
		t.Fatal("a command cut off by its context succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v after the context ended", took)
	}
}

func checkSource(t *testing.T, got []proto.CustomMetric, err error, want []proto.CustomMetric, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got %v, %v; want an error containing %q", got, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("CustomMetrics: %v", err)
	}
	if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
		t.Errorf("CustomMetrics\n got %#v\nwant %#v", got, want)
	}
	checkInReport(t, got)
}
