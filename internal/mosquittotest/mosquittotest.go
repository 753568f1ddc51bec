// Package mosquittotest runs a real Mosquitto broker for tests.
//
// Start launches the Debian broker binary (/usr/sbin/mosquitto, or mosquitto
// on the PATH) on a free loopback port, with a configuration written into
// the test's temporary directory, and returns once the broker accepts TCP
// connections. The broker allows anonymous clients, disables Nagle's
// algorithm, queues up to 100000 messages per client, and persists retained
// messages and sessions in the temporary directory, so that Restart brings
// back the same state on the same port. The broker is stopped when the test
// ends.
//
// # Caveats
//
// When Mosquitto is not installed, Start skips the test, except when the
// environment variable CI is "true": a CI run must not pass by skipping, so
// there it fails the test instead.
//
// Mosquitto writes its persistence file when it shuts down cleanly, so Stop
// and Restart end the broker with SIGTERM and wait for it to exit.
// The broker's log is printed with the test's output when the test fails.
package mosquittotest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is where Debian's mosquitto package installs the broker.
const Binary = "/usr/sbin/mosquitto"

// StartTimeout bounds how long Start and Restart wait for the broker to
// accept connections.
const StartTimeout = 10 * time.Second

// stopTimeout bounds how long Stop waits for a clean exit before it kills.
const stopTimeout = 10 * time.Second

// Broker is a running Mosquitto broker owned by one test.
type Broker struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs a broker on a free loopback port and waits until it accepts
// connections. It skips or fails the test when Mosquitto is missing (see the
// package documentation) and stops the broker when the test ends.
func Start(t testing.TB) *Broker {
	t.Helper()
	b := &Broker{t: t, bin: Path(t), dir: t.TempDir()}
	t.Cleanup(b.cleanup)
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if b.port, err = freePort(); err != nil {
			t.Fatalf("mosquittotest: %v", err)
		}
		if err = b.start(); err == nil {
			return b
		}
	}
	t.Fatalf("mosquittotest: %v\n%s", err, b.log())
	return nil
}

// Path returns the path of the Mosquitto binary. When there is none it skips
// the test, or fails it when the environment variable CI is "true".
func Path(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(Binary); err == nil {
		return Binary
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	Require(t, "mosquitto is not installed (apt-get install mosquitto)")
	return ""
}

// Require skips the test because a tool it needs is missing, or fails it
// when the environment variable CI is "true".
func Require(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// URL returns the broker's address as an MQTT URL, mqtt://127.0.0.1:PORT.
func (b *Broker) URL() string { return "mqtt://" + b.Addr() }

// Addr returns the broker's TCP address, 127.0.0.1:PORT.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// Port returns the broker's TCP port.
func (b *Broker) Port() int { return b.port }

// Stop shuts the broker down cleanly, so that it saves its persistent state,
// and waits for it to exit. Stopping a stopped broker does nothing.
func (b *Broker) Stop() {
	b.t.Helper()
	if err := b.stop(); err != nil {
		b.t.Errorf("mosquittotest: %v", err)
	}
}

// Restart stops the broker and starts it again on the same port with the
// same persistent state, and waits until it accepts connections.
func (b *Broker) Restart() {
	b.t.Helper()
	if err := b.stop(); err != nil {
		b.t.Fatalf("mosquittotest: %v", err)
	}
	if err := b.start(); err != nil {
		b.t.Fatalf("mosquittotest: restart: %v\n%s", err, b.log())
	}
}

// config is the broker's configuration for a port and a state directory.
func config(port int, dir, userName string) string {
	return fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence true
persistence_location %s/
autosave_interval 0
max_queued_messages 100000
user %s
log_dest stderr
log_timestamp_format %%H:%%M:%%S
`, port, dir, userName)
}

// start writes the configuration, launches the broker and waits for it.
func (b *Broker) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return errors.New("broker already running")
	}
	conf := filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(config(b.port, b.dir, currentUser())), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	logFile, err := os.OpenFile(b.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open broker log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(b.bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", b.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if err := waitListening(b.Addr(), done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return err
	}
	b.cmd, b.done = cmd, done
	return nil
}

// waitListening waits until addr accepts a TCP connection, the process
// exits, or StartTimeout passes.
func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(StartTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-exited:
			return fmt.Errorf("broker exited before listening on %s", addr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker not listening on %s after %v: %w", addr, StartTimeout, err)
		}
	}
}

// stop ends the broker with SIGTERM, or SIGKILL when it does not exit in
// time.
func (b *Broker) stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return nil
	}
	cmd, done := b.cmd, b.done
	b.cmd, b.done = nil, nil
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal broker: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("broker did not exit within %v of SIGTERM; killed", stopTimeout)
	}
}

// cleanup stops the broker at the end of the test and shows its log when
// the test failed.
func (b *Broker) cleanup() {
	if err := b.stop(); err != nil {
		b.t.Errorf("mosquittotest: %v", err)
	}
	if b.t.Failed() {
		b.t.Logf("mosquitto log:\n%s", b.log())
	}
}

func (b *Broker) logPath() string { return filepath.Join(b.dir, "mosquitto.log") }

// log returns the broker's log so far, for failure messages.
func (b *Broker) log() string {
	data, err := os.ReadFile(b.logPath())
	if err != nil {
		return fmt.Sprintf("(no broker log: %v)", err)
	}
	return string(data)
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// currentUser names the user the broker keeps running as. Mosquitto started
// as root otherwise switches to the user "mosquitto", which could not write
// its state into the test's directory.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}
