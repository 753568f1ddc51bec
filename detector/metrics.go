package detector

import "github.com/vigil-iot/vigil/proto"

// ValueKind is the type of a metric's values, which decides the operators
// and the behavior value field that apply to it.
type ValueKind uint8

// The kinds of metric value.
const (
	// KindCount is a non-negative integer (value.count): AWS numeric metrics.
	KindCount ValueKind = iota + 1
	// KindNumber is a float (value.number): custom "number" metrics.
	KindNumber
	// KindPorts is a set of ports (value.ports).
	KindPorts
	// KindIPs is a set of IP addresses, checked against CIDRs (value.cidrs).
	KindIPs
	// KindNumbers is a set of numbers (value.numbers): custom number-list.
	KindNumbers
	// KindStrings is a set of strings (value.strings): custom string-list.
	KindStrings
)

// String names the kind.
func (k ValueKind) String() string {
	switch k {
	case KindCount:
		return "count"
	case KindNumber:
		return "number"
	case KindPorts:
		return "port set"
	case KindIPs:
		return "IP address set"
	case KindNumbers:
		return "number list"
	case KindStrings:
		return "string list"
	}
	return "unknown"
}

// numeric reports whether values of the kind are compared with numeric
// operators.
func (k ValueKind) numeric() bool { return k == KindCount || k == KindNumber }

// MetricInfo describes a metric Vigil can evaluate.
type MetricInfo struct {
	// Name is the metric name in behaviors: "aws:all-bytes-out", or a custom
	// metric's name.
	Name string
	// Kind is the type of its values.
	Kind ValueKind
	// Counter metrics are summed over a durationSeconds window; other
	// numeric metrics (gauges) take the window's latest value.
	Counter bool
	// Custom is true for custom metrics.
	Custom bool
}

// The device-side metrics of the Device Defender report.
const (
	MetricBytesOut          = "aws:all-bytes-out"
	MetricBytesIn           = "aws:all-bytes-in"
	MetricPacketsOut        = "aws:all-packets-out"
	MetricPacketsIn         = "aws:all-packets-in"
	MetricNumListeningTCP   = "aws:num-listening-tcp-ports"
	MetricNumListeningUDP   = "aws:num-listening-udp-ports"
	MetricNumEstablishedTCP = "aws:num-established-tcp-connections"
	MetricListeningTCPPorts = "aws:listening-tcp-ports"
	MetricListeningUDPPorts = "aws:listening-udp-ports"
	MetricDestinationIPs    = "aws:destination-ip-addresses"
)

// deviceMetrics is the catalogue of device-side metrics.
var deviceMetrics = map[string]MetricInfo{
	MetricBytesOut:          {Name: MetricBytesOut, Kind: KindCount, Counter: true},
	MetricBytesIn:           {Name: MetricBytesIn, Kind: KindCount, Counter: true},
	MetricPacketsOut:        {Name: MetricPacketsOut, Kind: KindCount, Counter: true},
	MetricPacketsIn:         {Name: MetricPacketsIn, Kind: KindCount, Counter: true},
	MetricNumListeningTCP:   {Name: MetricNumListeningTCP, Kind: KindCount},
	MetricNumListeningUDP:   {Name: MetricNumListeningUDP, Kind: KindCount},
	MetricNumEstablishedTCP: {Name: MetricNumEstablishedTCP, Kind: KindCount},
	MetricListeningTCPPorts: {Name: MetricListeningTCPPorts, Kind: KindPorts},
	MetricListeningUDPPorts: {Name: MetricListeningUDPPorts, Kind: KindPorts},
	MetricDestinationIPs:    {Name: MetricDestinationIPs, Kind: KindIPs},
}

// The broker-side metrics, observed by the broker rather than reported by
// devices.
const (
	MetricMessageByteSize       = "aws:message-byte-size"
	MetricMessagesSent          = "aws:num-messages-sent"
	MetricMessagesReceived      = "aws:num-messages-received"
	MetricAuthorizationFailures = "aws:num-authorization-failures"
	MetricConnectionAttempts    = "aws:num-connection-attempts"
	MetricDisconnects           = "aws:num-disconnects"
	MetricDisconnectDuration    = "aws:disconnect-duration"
	MetricSourceIP              = "aws:source-ip-address"
	// MetricReportSilence is Vigil's own: the seconds since a connected
	// thing's last accepted report.
	MetricReportSilence = "vigil:report-silence"
)

// brokerMetrics is the catalogue of broker-side metrics.
var brokerMetrics = map[string]MetricInfo{
	MetricMessageByteSize:       {Name: MetricMessageByteSize, Kind: KindCount, Counter: true},
	MetricMessagesSent:          {Name: MetricMessagesSent, Kind: KindCount, Counter: true},
	MetricMessagesReceived:      {Name: MetricMessagesReceived, Kind: KindCount, Counter: true},
	MetricAuthorizationFailures: {Name: MetricAuthorizationFailures, Kind: KindCount, Counter: true},
	MetricConnectionAttempts:    {Name: MetricConnectionAttempts, Kind: KindCount, Counter: true},
	MetricDisconnects:           {Name: MetricDisconnects, Kind: KindCount, Counter: true},
	MetricDisconnectDuration:    {Name: MetricDisconnectDuration, Kind: KindCount},
	MetricSourceIP:              {Name: MetricSourceIP, Kind: KindIPs},
	MetricReportSilence:         {Name: MetricReportSilence, Kind: KindCount},
}

// DeviceMetric returns the description of a built-in aws: metric, device
// side or broker side.
func DeviceMetric(name string) (MetricInfo, bool) {
	if m, ok := deviceMetrics[name]; ok {
		return m, ok
	}
	m, ok := brokerMetrics[name]
	return m, ok
}

// DeviceMetricNames lists the device-side metrics.
func DeviceMetricNames() []string {
	return []string{MetricBytesOut, MetricBytesIn, MetricPacketsOut, MetricPacketsIn, MetricNumListeningTCP,
		MetricNumListeningUDP, MetricNumEstablishedTCP, MetricListeningTCPPorts, MetricListeningUDPPorts, MetricDestinationIPs}
}

// CustomMetric returns the description of a custom metric of the given type.
func CustomMetric(name string, t proto.CustomMetricType) MetricInfo {
	info := MetricInfo{Name: name, Custom: true}
	switch t {
	case proto.CustomNumber:
		info.Kind = KindNumber
	case proto.CustomNumberList:
		info.Kind = KindNumbers
	case proto.CustomStringList:
		info.Kind = KindStrings
	case proto.CustomIPList:
		info.Kind = KindIPs
	}
	return info
}

// MetricLookup resolves a metric name to its description; it knows the
// device-side metrics and the custom metrics defined in the registry.
type MetricLookup func(name string) (MetricInfo, bool)

// DeviceMetricsOnly is a MetricLookup that knows the aws: metrics and no
// custom metric.
func DeviceMetricsOnly(name string) (MetricInfo, bool) { return DeviceMetric(name) }
