package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

func TestSlogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := newSlogLogger(zerolog.New(&buf)).With("listener", "tcp").WithGroup("client")
	log.Info("not written")
	log.Warn("error processing packet", "error", errors.New("boom"), "id", "d1", "n", 3,
		"pk", packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "a/b", Payload: []byte("secret")},
		slog.Group("net", "remote", "127.0.0.1:5"))
	log.Error("failed")
	log.Warn("", "error", "EOF") // the end of a connection: debug level

	var lines []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3 (info is not written):\n%s", len(lines), buf.String())
	}
	want := map[string]any{
		"level": "warn", "message": "error processing packet", "listener": "tcp",
		"client.error": "boom", "client.id": "d1", "client.n": float64(3),
		"client.pk": "Publish a/b", "client.net.remote": "127.0.0.1:5",
	}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("%s = %v, want %v", k, lines[0][k], v)
		}
	}
	if bytes.Contains(buf.Bytes(), []byte("secret")) {
		t.Error("a payload was logged")
	}
	if lines[1]["level"] != "error" {
		t.Errorf("level = %v, want error", lines[1]["level"])
	}
	if lines[2]["level"] != "debug" || lines[2]["message"] != "connection ended" {
		t.Errorf("end of connection logged as %v %q", lines[2]["level"], lines[2]["message"])
	}
}
