package proto

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestValidCustomMetricName(t *testing.T) {
	for name, want := range map[string]bool{
		"cpu_usage":              true,
		"MyMetricOfType_Number":  true,
		"a:b-c_D9":               true,
		"AWS:cpu":                true,
		"x":                      true,
		strings.Repeat("n", 128): true,
		"":                       false,
		strings.Repeat("n", 129): false,
		"aws:cpu":                false,
		"aws:":                   false,
		"my metric":              false,
		"cpu.load":               false,
		"cpü":                    false,
		"cpu\n":                  false,
	} {
		if got := ValidCustomMetricName(name); got != want {
			t.Errorf("ValidCustomMetricName(%q) = %v", name, got)
		}
	}
}

func TestCustomMetricType(t *testing.T) {
	for _, typ := range []CustomMetricType{CustomNumber, CustomNumberList, CustomStringList, CustomIPList} {
		if !typ.Valid() {
			t.Errorf("%q is not valid", typ)
		}
	}
	for _, typ := range []CustomMetricType{"", "number_list", "ip-list", "Number"} {
		if typ.Valid() {
			t.Errorf("%q is valid", typ)
		}
	}
}

func TestDecodeCustomMetrics(t *testing.T) {
	got, err := DecodeCustomMetrics([]byte(`{"cpu":[{"number":12.5}],"users":[{"string_list":["alice"]}]}`))
	want := []CustomMetric{
		{"cpu", CustomValue{Type: CustomNumber, Number: 12.5}},
		{"users", CustomValue{Type: CustomStringList, Strings: []string{"alice"}}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for doc, field := range map[string]string{
		`{"cpu":{"number":1}}`:       "custom_metrics.cpu",
		`{"aws:cpu":[{"number":1}]}`: "custom_metrics.aws:cpu",
		`[]`:                         "custom_metrics",
		`{"cpu":[{"number":1}]} x`:   "report",
	} {
		_, err := DecodeCustomMetrics([]byte(doc))
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != InvalidPayload || pe.Field != field || pe.Message == "" {
			t.Errorf("DecodeCustomMetrics(%s): got %v, want InvalidPayload at %s", doc, err, field)
		}
	}
	_, err = DecodeCustomMetrics([]byte(`{"x":"` + strings.Repeat("a", DefaultMaxReportSize) + `"}`))
	if pe, ok := err.(*Error); !ok || pe.Code != ReportTooLarge {
		t.Errorf("oversized block: got %v, want ReportTooLarge", err)
	}
}

func TestParseCustomMetricLine(t *testing.T) {
	for _, c := range []struct {
		line, name string
		want       CustomValue
	}{
		{"cpu number 12.5", "cpu", CustomValue{Type: CustomNumber, Number: 12.5}},
		{"  temp   number  -3e2 ", "temp", CustomValue{Type: CustomNumber, Number: -300}},
		{"loads number-list 1,2.5,-3", "loads", CustomValue{Type: CustomNumberList, Numbers: []float64{1, 2.5, -3}}},
		{"loads number-list", "loads", CustomValue{Type: CustomNumberList, Numbers: []float64{}}},
		{"users string-list alice,bob", "users", CustomValue{Type: CustomStringList, Strings: []string{"alice", "bob"}}},
		{"users string-list", "users", CustomValue{Type: CustomStringList, Strings: []string{}}},
		{"peers ip-address-list 10.0.0.1,2001:db8::1", "peers", CustomValue{Type: CustomIPList, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")}}},
	} {
		name, v, err := ParseCustomMetricLine(c.line)
		if err != nil || name != c.name || !reflect.DeepEqual(v, c.want) {
			t.Errorf("ParseCustomMetricLine(%q) = %q, %+v, %v; want %q, %+v", c.line, name, v, err, c.name, c.want)
		}
	}
	for _, line := range []string{
		"", "cpu", "cpu number 1 2", "aws:cpu number 1", "my.cpu number 1", "cpu float 1", "cpu number",
		"cpu number NaN", "cpu number Inf", "cpu number -Infinity", "cpu number abc", "cpu number 1e999",
		"loads number-list 1,,2", "loads number-list 1,x", "peers ip-address-list 10.0.0.1,bogus", "peers ip-address-list 10.0.0.0/8",
	} {
		if name, v, err := ParseCustomMetricLine(line); err == nil {
			t.Errorf("ParseCustomMetricLine(%q) = %q, %+v; want an error", line, name, v)
		}
	}
}

func TestCheckCustomMetrics(t *testing.T) {
	registry := map[string]CustomMetricType{"cpu": CustomNumber, "users": CustomStringList}
	typeOf := func(name string) (CustomMetricType, bool) {
		typ, ok := registry[name]
		return typ, ok
	}
	rep := func(m []CustomMetric) *Report {
		return &Report{Header: Header{ReportID: 1, Version: "1.0"}, CustomMetrics: m}
	}
	for _, c := range []struct {
		name    string
		metrics []CustomMetric
		code    ErrorCode
		field   string
	}{
		{"none", nil, "", ""},
		{"all known", []CustomMetric{{"cpu", CustomValue{Type: CustomNumber}}, {"users", CustomValue{Type: CustomStringList}}}, "", ""},
		{"unknown", []CustomMetric{{"cpu", CustomValue{Type: CustomNumber}}, {"disk", CustomValue{Type: CustomNumber}}}, UnknownCustomMetric, "custom_metrics.disk"},
		{"mismatch", []CustomMetric{{"cpu", CustomValue{Type: CustomNumberList}}}, CustomMetricTypeMismatch, "custom_metrics.cpu"},
		{"first by name", []CustomMetric{{"aa", CustomValue{Type: CustomNumber}}, {"zz", CustomValue{Type: CustomNumber}}}, UnknownCustomMetric, "custom_metrics.aa"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckCustomMetrics(rep(c.metrics), typeOf)
			if c.code == "" {
				if err != nil {
					t.Errorf("got %v", err)
				}
				return
			}
			pe, ok := err.(*Error)
			if !ok || pe.Code != c.code || pe.Field != c.field || pe.Message == "" {
				t.Errorf("got %#v, want %s at %s", err, c.code, c.field)
			}
		})
	}
}

// TestReportCounts pins the count helpers: the total when the device gave
// one, else the length of the list.
func TestReportCounts(t *testing.T) {
	rep := typicalReport()
	rep.Metrics.ListeningUDPPorts.Total = nil
	rep.Metrics.TCPConnections.EstablishedConnections.Total = Count(40)
	for name, c := range map[string]struct {
		fn   func() (uint64, bool)
		n    uint64
		have bool
	}{
		"tcp total":           {rep.NumListeningTCPPorts, 3, true},
		"udp list length":     {rep.NumListeningUDPPorts, 2, true},
		"connections total":   {rep.NumEstablishedConnections, 40, true},
		"no metrics":          {(&Report{}).NumListeningTCPPorts, 0, false},
		"no udp":              {(&Report{Metrics: &Metrics{}}).NumListeningUDPPorts, 0, false},
		"no connections":      {(&Report{Metrics: &Metrics{TCPConnections: &TCPConnections{}}}).NumEstablishedConnections, 0, false},
		"no connections list": {(&Report{Metrics: &Metrics{TCPConnections: &TCPConnections{EstablishedConnections: &EstablishedConnections{}}}}).NumEstablishedConnections, 0, true},
	} {
		if n, have := c.fn(); n != c.n || have != c.have {
			t.Errorf("%s: got %d, %v; want %d, %v", name, n, have, c.n, c.have)
		}
	}
}

// TestValidate checks that Validate applies the decoding rules to a report
// built in code, and names the field in long keys.
func TestValidate(t *testing.T) {
	if err := typicalReport().Validate(); err != nil {
		t.Errorf("typical report: %v", err)
	}
	for _, c := range []struct {
		name  string
		edit  func(*Report)
		field string
	}{
		{"report id 0", func(r *Report) { r.Header.ReportID = 0 }, "header.report_id"},
		{"negative report id", func(r *Report) { r.Header.ReportID = -5 }, "header.report_id"},
		{"version 2.0", func(r *Report) { r.Header.Version = "2.0" }, "header.version"},
		{"port 0", func(r *Report) { r.Metrics.ListeningTCPPorts.Ports[1].Port = 0 }, "metrics.listening_tcp_ports.ports[1].port"},
		{"no parts", func(r *Report) { r.Metrics, r.CustomMetrics = nil, nil }, "report"},
		{"bad metric name", func(r *Report) {
			r.CustomMetrics = append(r.CustomMetrics, CustomMetric{"aws:x", CustomValue{Type: CustomNumber}})
		}, "custom_metrics.aws:x"},
		{"interface with a newline", func(r *Report) { r.Metrics.ListeningUDPPorts.Ports[0].Interface = "eth\n0" }, "metrics.listening_udp_ports.ports[0].interface"},
		{"invalid remote address", func(r *Report) {
			r.Metrics.TCPConnections.EstablishedConnections.Connections[2].RemoteAddr = netip.AddrPort{}
		}, "metrics.tcp_connections.established_connections.connections[2].remote_addr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := typicalReport()
			c.edit(r)
			err := r.Validate()
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != InvalidPayload || pe.Field != c.field {
				t.Errorf("got %v, want InvalidPayload at %s", err, c.field)
			}
		})
	}
}

func TestEncodeUnknownFormat(t *testing.T) {
	if _, err := Encode(typicalReport(), Format(0), LongKeys); err == nil {
		t.Error("Encode accepted an unknown format")
	}
}
