package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/proto"
)

// bytesOutProfile is the profile of the contract's end-to-end scenario.
var bytesOutProfile = map[string]any{
	"securityProfileDescription": "ID-card scanners send little",
	"behaviors": []any{map[string]any{
		"name": "bytes-out", "metric": "aws:all-bytes-out",
		"criteria": map[string]any{"comparisonOperator": "less-than-equals", "value": map[string]any{"count": 4096},
			"consecutiveDatapointsToAlarm": 2, "consecutiveDatapointsToClear": 2},
	}},
}

func report(id int64, bytesOut int) string {
	return fmt.Sprintf(`{"header":{"report_id":%d,"version":"1.0"},"metrics":{"network_stats":{"bytes_in":100,"bytes_out":%d,"packets_in":1,"packets_out":1}}}`, id, bytesOut)
}

// acceptedCount reads vigil_reports_accepted_total from /metrics.
func acceptedCount(t *testing.T, s *server) int {
	t.Helper()
	resp, err := http.Get("http://" + s.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "vigil_reports_accepted_total "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	t.Fatal("vigil_reports_accepted_total not in /metrics")
	return 0
}

func TestAlarmLifecycleOverMQTT(t *testing.T) {
	need(t, "mosquitto_pub")
	s := startServer(t, t.TempDir(), "--allow-anonymous")
	s.call("POST", "/api/things/scanner-1", map[string]any{"password": "door-1-secret"}, 200, nil)
	s.call("POST", "/api/things/scanner-2", map[string]any{"password": "door-2-secret"}, 200, nil)
	s.call("POST", "/api/security-profiles/door-limits", bytesOutProfile, 200, nil)
	s.call("PUT", "/api/security-profiles/door-limits/targets?securityProfileTargetArn=all/things", nil, 200, nil)

	events := subscribe(t, s.mqtt, "watch-events", "$vigil/violations/#")
	topic := "$aws/things/scanner-1/defender/metrics/json"
	base := time.Now().UnixMilli()
	pub := func(i int, bytesOut int) {
		publish(t, s.mqtt, "scanner-1", "door-1-secret", topic, report(base+int64(i), bytesOut))
	}

	pub(1, 5000)
	waitAccepted(t, s, 1)
	pub(2, 5000)
	lines := events.waitFor("in-alarm", 10*time.Second, func(l []string) bool { return countContaining(l, `"in-alarm"`) >= 1 })
	if n := countContaining(lines, `"in-alarm"`); n != 1 {
		t.Fatalf("got %d in-alarm events, want 1:\n%s", n, strings.Join(lines, "\n"))
	}
	active := subscribe(t, s.mqtt, "watch-active", "$vigil/active-violations/#")
	active.waitFor("retained active violation", 10*time.Second, func(l []string) bool {
		return countContaining(l, "1 $vigil/active-violations/door-limits/scanner-1/bytes-out", `"violationId"`) == 1
	})

	pub(3, 100)
	waitAccepted(t, s, 3)
	if n := countContaining(events.Lines(), `"alarm-cleared"`); n != 0 {
		t.Fatalf("alarm cleared after one clean report, want two")
	}
	pub(4, 100)
	lines = events.waitFor("alarm-cleared", 10*time.Second, func(l []string) bool { return countContaining(l, `"alarm-cleared"`) >= 1 })
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive by now
	lines = events.Lines()
	if countContaining(lines, `"in-alarm"`) != 1 || countContaining(lines, `"alarm-cleared"`) != 1 {
		t.Fatalf("want exactly one in-alarm and one alarm-cleared:\n%s", strings.Join(lines, "\n"))
	}
	late := subscribe(t, s.mqtt, "watch-late", "$vigil/active-violations/#")
	time.Sleep(time.Second)
	if l := late.Lines(); len(l) != 0 {
		t.Fatalf("the retained active violation is still there after the clear: %v", l)
	}

	var values struct {
		MetricDatumList []struct {
			Timestamp float64 `json:"timestamp"`
			Value     struct {
				Count *uint64 `json:"count"`
			} `json:"value"`
		} `json:"metricDatumList"`
	}
	s.call("GET", fmt.Sprintf("/api/metric-values?thingName=scanner-1&metricName=aws:all-bytes-out&startTime=%d&endTime=%d",
		time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Hour).Unix()), nil, 200, &values)
	var got []uint64
	for _, d := range values.MetricDatumList {
		if d.Value.Count != nil {
			got = append(got, *d.Value.Count)
		}
	}
	if fmt.Sprint(got) != "[5000 5000 100 100]" {
		t.Errorf("metric history of scanner-1's bytes out: %v, want [5000 5000 100 100]", got)
	}

	out, err := exec.Command(binary(t, "vigil"), "violations", "--api", "http://"+s.api, "--since", "1h").CombinedOutput()
	if err != nil {
		t.Fatalf("vigil violations: %v\n%s", err, out)
	}
	for _, want := range []string{"in-alarm", "alarm-cleared", "scanner-1", "door-limits", "bytes-out"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("vigil violations output lacks %q:\n%s", want, out)
		}
	}
}

func waitAccepted(t *testing.T, s *server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for acceptedCount(t, s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d reports accepted", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestIdentityIsEnforced(t *testing.T) {
	need(t, "mosquitto_pub")
	s := startServer(t, t.TempDir())
	s.call("POST", "/api/things/scanner-1", map[string]any{"password": "door-1-secret"}, 200, nil)
	s.call("POST", "/api/things/scanner-2", map[string]any{"password": "door-2-secret"}, 200, nil)

	host, port := splitAddr(s.mqtt)
	wrong := exec.Command(need(t, "mosquitto_pub"), "-h", host, "-p", port, "-i", "scanner-1", "-u", "scanner-1", "-P", "not-the-password",
		"-q", "1", "-t", "$aws/things/scanner-1/defender/metrics/json", "-m", report(1, 1))
	if out, err := wrong.CombinedOutput(); err == nil {
		t.Fatalf("a wrong password was accepted: %s", out)
	}
	anonymous := exec.Command(need(t, "mosquitto_pub"), "-h", host, "-p", port, "-i", "scanner-9",
		"-q", "1", "-t", "$aws/things/scanner-9/defender/metrics/json", "-m", report(1, 1))
	if out, err := anonymous.CombinedOutput(); err == nil {
		t.Fatalf("an anonymous client was accepted without --allow-anonymous: %s", out)
	}
	// scanner-2 publishes for scanner-1: the broker drops it, nothing is counted.
	publish(t, s.mqtt, "scanner-2", "door-2-secret", "$aws/things/scanner-1/defender/metrics/json", report(time.Now().UnixMilli(), 1))
	publish(t, s.mqtt, "scanner-2", "door-2-secret", "$aws/things/scanner-2/defender/metrics/json", report(time.Now().UnixMilli(), 1))
	waitAccepted(t, s, 1)
	time.Sleep(300 * time.Millisecond)
	if n := acceptedCount(t, s); n != 1 {
		t.Fatalf("accepted %d reports, want only scanner-2's own", n)
	}
}

func splitAddr(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// replies collects the replies a thing receives.
type replies struct {
	ch chan proto.Reply
}

func connectThing(t *testing.T, mqttAddr, thing string) (mqtt.Client, *replies) {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID(thing).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", thing, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	r := &replies{ch: make(chan proto.Reply, 100)}
	tok := c.Subscribe("$aws/things/"+thing+"/defender/metrics/json/+", 1, func(_ mqtt.Client, m mqtt.Message) {
		rep, err := proto.DecodeReply(proto.JSON, m.Payload())
		if err == nil {
			r.ch <- rep
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", thing, tok.Error())
	}
	return c, r
}

func (r *replies) next(t *testing.T) proto.Reply {
	t.Helper()
	select {
	case rep := <-r.ch:
		return rep
	case <-time.After(10 * time.Second):
		t.Fatal("no reply")
		return proto.Reply{}
	}
}

func TestMalformedReportsAreRejectedAndTheConnectionGoesOn(t *testing.T) {
	s := startServer(t, t.TempDir(), "--allow-anonymous")
	bad, badReplies := connectThing(t, s.mqtt, "noisy-1")
	good, goodReplies := connectThing(t, s.mqtt, "quiet-1")
	topic := "$aws/things/noisy-1/defender/metrics/json"
	cases := []struct {
		payload string
		code    proto.ErrorCode
	}{
		{`{"header":`, proto.InvalidPayload},
		{`not json at all`, proto.InvalidPayload},
		{`{"header":{"report_id":0,"version":"1.0"},"metrics":{}}`, proto.InvalidPayload},
		{`{"header":{"report_id":5,"version":"1.0"},"custom_metrics":{"x":[{"number":1}]}}`, proto.UnknownCustomMetric},
		{strings.Repeat(" ", proto.DefaultMaxReportSize+1), proto.ReportTooLarge},
	}
	base := time.Now().UnixMilli()
	for i, c := range cases {
		bad.Publish(topic, 1, false, c.payload).Wait()
		rep := badReplies.next(t)
		if rep.Status != proto.Rejected || rep.StatusDetails == nil || rep.StatusDetails.ErrorCode != c.code {
			t.Fatalf("case %d: got %+v, want rejected %s", i, rep, c.code)
		}
		if rep.StatusDetails.ErrorMessage == "" {
			t.Errorf("case %d: rejection without a message", i)
		}
		good.Publish("$aws/things/quiet-1/defender/metrics/json", 1, false, report(base+int64(i), 10)).Wait()
		if rep := goodReplies.next(t); rep.Status != proto.Accepted {
			t.Fatalf("a well-behaved client was disturbed: %+v", rep)
		}
	}
	bad.Publish(topic, 1, false, report(base, 10)).Wait()
	if rep := badReplies.next(t); rep.Status != proto.Accepted {
		t.Fatalf("the valid report after the garbage was not accepted: %+v", rep)
	}
	bad.Publish(topic, 1, false, report(base, 10)).Wait()
	if rep := badReplies.next(t); rep.StatusDetails == nil || rep.StatusDetails.ErrorCode != proto.InvalidReportID {
		t.Fatalf("a repeated report id was not rejected as InvalidReportId: %+v", rep)
	}
}
