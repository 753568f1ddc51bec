package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startNATS runs nats-server with JetStream and its MQTT gateway on free
// loopback ports, and returns the MQTT address.
func startNATS(t *testing.T) string {
	t.Helper()
	bin := need(t, "nats-server")
	dir := t.TempDir()
	mqttAddr, clientAddr := freeAddr(t), freeAddr(t)
	conf := fmt.Sprintf("server_name: vigil-e2e\nlisten: %s\njetstream { store_dir: %q }\nmqtt { listen: %s }\n",
		clientAddr, filepath.Join(dir, "js"), mqttAddr)
	confPath := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "-c", confPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("nats-server logs:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", mqttAddr); err == nil {
			c.Close()
			return mqttAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not listen for MQTT on %s:\n%s", mqttAddr, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSidecarOverNATS runs `vigil detect` against the MQTT gateway of a NATS
// server: a device's reports reach the detector, and the replies, the
// violation event and the retained active violation reach MQTT subscribers
// of NATS.
func TestSidecarOverNATS(t *testing.T) {
	need(t, "mosquitto_pub")
	addr := startNATS(t)
	s := &server{t: t, mqtt: addr, api: freeAddr(t), logs: &syncBuffer{}}
	s.args = []string{"detect", "--broker", "mqtt://" + addr, "--http", s.api, "--data", t.TempDir(), "--log-format", "json"}
	s.start()
	t.Cleanup(s.stop)
	attachProfile(s, "door-limits", bytesOutProfile)

	events := subscribe(t, addr, "watch-events", "$vigil/violations/#")
	awaitSubscribed(t, addr, events, "$vigil/violations/probe/probe")
	replies := subscribe(t, addr, "watch-replies", "$aws/things/scanner-1/defender/metrics/json/+")
	awaitSubscribed(t, addr, replies, "$aws/things/scanner-1/defender/metrics/json/probe")
	topic := "$aws/things/scanner-1/defender/metrics/json"
	base := time.Now().UnixMilli()
	publish(t, addr, "scanner-1", "", topic, report(base+1, 5000))
	waitAccepted(t, s, 1)
	publish(t, addr, "scanner-1", "", topic, report(base+2, 5000))

	lines := events.waitFor("in-alarm", 10*time.Second, func(l []string) bool { return countContaining(l, `"in-alarm"`) >= 1 })
	if n := countContaining(lines, `"in-alarm"`, `"scanner-1"`, `"door-limits"`); n != 1 {
		t.Fatalf("got %d in-alarm events of scanner-1, want 1:\n%s", n, strings.Join(lines, "\n"))
	}
	replies.waitFor("two accepted replies", 10*time.Second, func(l []string) bool {
		return countContaining(l, "/json/accepted", `"ACCEPTED"`) == 2
	})
	active := subscribe(t, addr, "watch-active", "$vigil/active-violations/#")
	active.waitFor("retained active violation", 10*time.Second, func(l []string) bool {
		return countContaining(l, "$vigil/active-violations/door-limits/scanner-1/bytes-out", `"violationId"`) == 1
	})
}
