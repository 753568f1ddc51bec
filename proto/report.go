package proto

import (
	"net/netip"
	"slices"
	"strings"
)

// DefaultMaxReportSize is the largest report accepted unless the caller sets
// another limit: 128 KiB, the payload limit of AWS IoT's broker.
const DefaultMaxReportSize = 128 << 10

// MaxDepth is the deepest nesting of maps and lists a report may contain. The
// document itself needs five levels; the rest is room for unknown keys.
const MaxDepth = 32

// CurrentVersion is the report format version that Vigil's agent writes.
const CurrentVersion = "1.0"

// Report is one metrics report of a thing: the Device Defender document.
type Report struct {
	// Header identifies the report.
	Header Header
	// Metrics holds the device-side metrics, or nil when the report has none.
	Metrics *Metrics
	// CustomMetrics holds the custom metrics in ascending name order, each
	// name once. It is nil when the report has no custom_metrics block, and
	// empty but not nil when the block is empty. Encode writes them in name
	// order whatever their order here, and refuses a name given twice.
	CustomMetrics []CustomMetric
}

// CustomMetric is one custom metric of a report: its name and value.
type CustomMetric struct {
	Name  string
	Value CustomValue
}

// Custom returns the value of the custom metric of this name, and whether
// the report holds one. It relies on CustomMetrics being in name order, as
// Decode leaves it.
func (r *Report) Custom(name string) (CustomValue, bool) {
	i, ok := slices.BinarySearchFunc(r.CustomMetrics, name, func(m CustomMetric, name string) int {
		return strings.Compare(m.Name, name)
	})
	if !ok {
		return CustomValue{}, false
	}
	return r.CustomMetrics[i].Value, true
}

// compareCustomNames orders custom metrics by name.
func compareCustomNames(a, b CustomMetric) int { return strings.Compare(a.Name, b.Name) }

// Header identifies a report: a positive id that grows with every report of
// a thing, and the document version.
type Header struct {
	// ReportID increases per thing; Vigil's agent uses epoch milliseconds.
	ReportID int64
	// Version is the "Major.Minor" format version, normally "1.0".
	Version string
}

// Metrics holds the device-side metrics of a report. Each part is optional.
type Metrics struct {
	// ListeningTCPPorts are the TCP ports in the LISTEN state.
	ListeningTCPPorts *PortList
	// ListeningUDPPorts are the bound UDP ports.
	ListeningUDPPorts *PortList
	// NetworkStats are traffic counters since the previous report.
	NetworkStats *NetworkStats
	// TCPConnections are the established TCP connections.
	TCPConnections *TCPConnections
}

// PortList is a list of listening ports and their total.
type PortList struct {
	// Ports lists the ports; a device may send a sample of them.
	Ports []Port
	// Total is the number of ports, or nil when the device did not say.
	Total *uint64
}

// Port is one listening port and the interface it listens on.
type Port struct {
	// Port is 1..65535.
	Port uint16
	// Interface is the interface name, or "" when not reported.
	Interface string
}

// NetworkStats are the traffic counters of a report, as deltas since the
// previous report. A nil field was not reported.
type NetworkStats struct {
	BytesIn    *uint64
	BytesOut   *uint64
	PacketsIn  *uint64
	PacketsOut *uint64
}

// TCPConnections holds the established TCP connections of a report.
type TCPConnections struct {
	// EstablishedConnections is nil when the device did not report it.
	EstablishedConnections *EstablishedConnections
}

// EstablishedConnections lists TCP connections in the ESTABLISHED state.
type EstablishedConnections struct {
	// Connections lists the connections; a device may send a sample.
	Connections []Connection
	// Total is the number of connections, or nil when the device did not say.
	Total *uint64
}

// Connection is one established TCP connection.
type Connection struct {
	// RemoteAddr is the peer's address and port.
	RemoteAddr netip.AddrPort
	// LocalPort is the local port, or 0 when not reported.
	LocalPort uint16
	// LocalInterface is the local interface name, or "" when not reported.
	LocalInterface string
}

// CustomMetricType is the type of a custom metric, as named by the AWS API.
type CustomMetricType string

// The custom metric types.
const (
	CustomNumber     CustomMetricType = "number"
	CustomNumberList CustomMetricType = "number-list"
	CustomStringList CustomMetricType = "string-list"
	CustomIPList     CustomMetricType = "ip-address-list"
)

// Valid reports whether t is one of the four custom metric types.
func (t CustomMetricType) Valid() bool {
	switch t {
	case CustomNumber, CustomNumberList, CustomStringList, CustomIPList:
		return true
	}
	return false
}

// reportKey is the key that holds a value of this type inside a report.
func (t CustomMetricType) reportKey() string {
	switch t {
	case CustomNumber:
		return "number"
	case CustomNumberList:
		return "number_list"
	case CustomStringList:
		return "string_list"
	case CustomIPList:
		return "ip_list"
	}
	return ""
}

// CustomValue is the value of one custom metric in a report. Type says which
// of the other fields holds it.
type CustomValue struct {
	Type    CustomMetricType
	Number  float64
	Numbers []float64
	Strings []string
	IPs     []netip.Addr
}

// Count returns a pointer to n, for the optional counts of a report.
func Count(n uint64) *uint64 { return &n }

// NumListeningTCPPorts returns the number of listening TCP ports the report
// states: its total when given, else the length of its list.
func (r *Report) NumListeningTCPPorts() (uint64, bool) {
	if r.Metrics == nil {
		return 0, false
	}
	return r.Metrics.ListeningTCPPorts.count()
}

// NumListeningUDPPorts is NumListeningTCPPorts for UDP.
func (r *Report) NumListeningUDPPorts() (uint64, bool) {
	if r.Metrics == nil {
		return 0, false
	}
	return r.Metrics.ListeningUDPPorts.count()
}

// NumEstablishedConnections returns the number of established TCP
// connections the report states: its total when given, else the list length.
func (r *Report) NumEstablishedConnections() (uint64, bool) {
	if r.Metrics == nil || r.Metrics.TCPConnections == nil || r.Metrics.TCPConnections.EstablishedConnections == nil {
		return 0, false
	}
	ec := r.Metrics.TCPConnections.EstablishedConnections
	if ec.Total != nil {
		return *ec.Total, true
	}
	return uint64(len(ec.Connections)), true
}

func (p *PortList) count() (uint64, bool) {
	if p == nil {
		return 0, false
	}
	if p.Total != nil {
		return *p.Total, true
	}
	return uint64(len(p.Ports)), true
}
