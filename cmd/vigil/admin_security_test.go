package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/detector/api"
)

// TestSecurityCommands runs the certificate, revocation, quarantine and
// token commands against a real server.
func TestSecurityCommands(t *testing.T) {
	const admin, reader = "cli-admin-token-000001", "cli-read-token-0000001"
	a, err := app.Start(app.Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: zerolog.Nop(), Tokens: api.Tokens{Admin: []string{admin}, ReadOnly: []string{reader}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	t.Setenv("VIGIL_API", a.HTTPURL())
	out := t.TempDir()

	for _, tc := range []struct {
		name   string
		token  string
		args   []string
		code   int
		stdout string // a substring of standard output
		stderr string // a substring of standard error
	}{
		{"no token", "", []string{"thing", "ls"}, 1, "", "UnauthorizedException"},
		{"read token cannot create", reader, []string{"thing", "create", "cam-01"}, 1, "", "ForbiddenException"},
		{"admin token creates", admin, []string{"thing", "create", "cam-01"}, 0, "created thing cam-01", ""},
		{"profile", admin, []string{"profile", "apply", "-f", profileFile(t)}, 0, "", ""},
		{"cert", admin, []string{"thing", "cert", "cam-01", "--out", out}, 0, "issued certificate", ""},
		{"cert does not overwrite", admin, []string{"thing", "cert", "cam-01", "--out", out}, 1, "", "exists"},
		{"certs", reader, []string{"thing", "certs", "cam-01"}, 0, "ACTIVE", ""},
		{"quarantine with a time box", admin, []string{"thing", "quarantine", "cam-01", "--for", "1h", "--reason", "port 6667"}, 0, "quarantined cam-01 for 1h0m0s", ""},
		{"bad time box", admin, []string{"thing", "quarantine", "cam-01", "--for", "1.5s"}, 2, "", "whole number of seconds"},
		{"quarantined", reader, []string{"thing", "quarantined"}, 0, "port 6667", ""},
		{"release", admin, []string{"thing", "release", "cam-01"}, 0, "released cam-01", ""},
		{"release again", admin, []string{"thing", "release", "cam-01"}, 1, "", "not quarantined"},
		{"mitigation of an unknown behavior", admin, []string{"mitigation", "set", "ports", "-f", mitigationFile(t, "nope")}, 1, "", "no behavior"},
		{"mitigation set", admin, []string{"mitigation", "set", "ports", "-f", mitigationFile(t, "few-ports")}, 0, "set the mitigations", ""},
		{"mitigation get", reader, []string{"mitigation", "get", "ports"}, 0, "quarantineParams", ""},
		{"mitigation history", reader, []string{"mitigation", "history", "--thing", "cam-01"}, 0, "RELEASE_QUARANTINE", ""},
		{"revoke", admin, []string{"thing", "revoke", "cam-01"}, 0, "1 certificate(s)", ""},
		{"certs after revoke", admin, []string{"thing", "certs", "cam-01"}, 0, "REVOKED", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("VIGIL_TOKEN", tc.token)
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
		})
	}
	info, err := os.Stat(filepath.Join(out, "cam-01.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, info)
	}
	for _, name := range []string{"cam-01.crt", "ca.crt"} {
		if data, err := os.ReadFile(filepath.Join(out, name)); err != nil || !strings.Contains(string(data), "BEGIN CERTIFICATE") {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestServeRefusesAnExposedAPIWithoutToken checks the flag wiring.
func TestServeRefusesAnExposedAPIWithoutToken(t *testing.T) {
	code, _, stderr := runCLI(t, "", "serve", "--http", "0.0.0.0:0", "--mqtt", "127.0.0.1:0", "--data", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "token") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "", "serve", "--admin-token", "short", "--data", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "at least") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// profileFile writes a profile with one behavior, few-ports.
func profileFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ports.yaml")
	doc := "securityProfileName: ports\nbehaviors:\n- name: few-ports\n  metric: aws:num-listening-tcp-ports\n" +
		"  criteria: {comparisonOperator: less-than, value: {count: 5}}\n"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mitigationFile writes mitigations that quarantine on behavior's alarm.
func mitigationFile(t *testing.T, behavior string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mitigations.yaml")
	doc := "behaviorMitigations:\n- behaviorName: " + behavior + "\n  actions:\n  - quarantineParams: {durationSeconds: 3600}\n"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
