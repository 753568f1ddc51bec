package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds a command of this module once per test run and returns its
// path.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "vigil-e2e-")
		if buildErr != nil {
			return
		}
		for _, cmd := range []string{"vigil", "vigil-agent"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, cmd), "../cmd/"+cmd).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", cmd, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// need skips the test when a program is missing, except in CI where it
// fails.
func need(t *testing.T, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", program, err)
		}
		t.Skipf("%s not installed", program)
	}
	return path
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a `vigil serve` process.
type server struct {
	t         *testing.T
	args      []string
	mqtt, api string
	cmd       *exec.Cmd
	logs      *syncBuffer
}

// startServer runs `vigil serve` on free ports with its data in dir.
func startServer(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, mqtt: freeAddr(t), api: freeAddr(t), logs: &syncBuffer{}}
	s.args = append([]string{"serve", "--mqtt", s.mqtt, "--http", s.api, "--data", dir, "--log-format", "json"}, extra...)
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.cmd = exec.Command(binary(s.t, "vigil"), s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + s.api + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("vigil serve did not become healthy; logs:\n%s", s.logs.String())
}

// kill ends the process with SIGKILL, as a crash would.
func (s *server) kill() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
	if s.t.Failed() {
		s.t.Logf("server logs:\n%s", s.logs.String())
	}
}

// call sends a JSON request to the API and decodes the JSON answer into out
// (when not nil); a status other than want fails the test.
func (s *server) call(method, path string, body any, want int, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://"+s.api+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// subscriber is a mosquitto_sub process printing "topic payload" lines,
// with -v and retained messages flagged.
type subscriber struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	cancel context.CancelFunc
}

// subscribe starts mosquitto_sub on a filter of the server's broker.
func subscribe(t *testing.T, mqttAddr, clientID, filter string) *subscriber {
	t.Helper()
	host, port, _ := net.SplitHostPort(mqttAddr)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, need(t, "mosquitto_sub"), "-h", host, "-p", port, "-i", clientID, "-q", "1", "-v", "-t", filter,
		"-F", "%r %t %p")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &subscriber{t: t, cmd: cmd, cancel: cancel}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return s
}

// Lines returns what the subscriber received so far.
func (s *subscriber) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// waitFor waits until cond holds on the received lines, or fails.
func (s *subscriber) waitFor(what string, limit time.Duration, cond func(lines []string) bool) []string {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		lines := s.Lines()
		if cond(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; received:\n%s", what, strings.Join(lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countContaining counts the lines that contain every one of parts.
func countContaining(lines []string, parts ...string) int {
	n := 0
	for _, l := range lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			n++
		}
	}
	return n
}

// publish sends one report with mosquitto_pub as the given thing.
func publish(t *testing.T, mqttAddr, thing, password, topic, payload string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(mqttAddr)
	args := []string{"-h", host, "-p", port, "-i", thing, "-q", "1", "-t", topic, "-m", payload}
	if password != "" {
		args = append(args, "-u", thing, "-P", password)
	}
	out, err := exec.Command(need(t, "mosquitto_pub"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %s: %v: %s", topic, err, out)
	}
}
