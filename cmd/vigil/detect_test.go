package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDetectUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no broker", []string{"detect", "--http", "127.0.0.1:0"}, 2, "--broker is required"},
		{"embedded broker flag", []string{"detect", "--broker", "mqtt://127.0.0.1:1883", "--mqtt", "127.0.0.1:1883"}, 2, "--mqtt configures the embedded broker"},
		{"cert without key", []string{"detect", "--broker", "mqtts://127.0.0.1:8883", "--cert", "c.pem"}, 2, "--cert and --key go together"},
		{"bad time source", []string{"detect", "--broker", "mqtt://127.0.0.1:1883", "--time-source", "device"}, 2, "--time-source"},
		{"unknown scheme", []string{"detect", "--broker", "http://127.0.0.1:1883", "--data", "", "--connect-timeout", "1s"}, 1, "unknown scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "unknown scheme" {
				tt.args[4] = t.TempDir()
			}
			var out, errOut bytes.Buffer
			if code := run(append(tt.args, "--log-level", "error"), &out, &errOut); code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.want)
			}
		})
	}
}

func TestDetectHelpNamesTheBrokerFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"detect", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut.String())
	}
	help := out.String()
	for _, want := range []string{"--broker", "--ca", "--cert", "--key", "--username", "--password", "--client-id", "vigil-detect", "--http", "--data", "--retention", "--time-source"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %s", want)
		}
	}
	if strings.Contains(help, "--mqtt ") || strings.Contains(help, "--allow-anonymous") {
		t.Errorf("help shows the embedded broker's flags:\n%s", help)
	}
}
