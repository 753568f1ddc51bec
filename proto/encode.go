package proto

import (
	"fmt"
	"slices"
	"strings"
)

// emitter writes one encoded document, item by item. Maps and lists are
// given their length up front; end closes them (a no-op where the format
// needs no closing byte).
type emitter interface {
	mapHeader(n int)
	listHeader(n int)
	end()
	key(s string)
	str(s string)
	uint(v uint64)
	float(v float64)
	bytes() ([]byte, error)
}

// Encode writes a report in the given format and key style. It writes what
// the report holds and does not validate it (see Report.Validate), with one
// exception: a custom metric name given twice is refused with an *Error
// naming it, since a document cannot hold it. Custom metrics are written in
// name order whatever their order in the report, so that the output is
// deterministic.
func Encode(r *Report, format Format, style KeyStyle) ([]byte, error) {
	order, twice := customOrder(r.CustomMetrics)
	if twice >= 0 {
		return nil, customTwice(r.CustomMetrics[twice].Name, style)
	}
	var e emitter
	switch format {
	case JSON:
		e = &jsonEmitter{buf: make([]byte, 0, 512)}
	case CBOR:
		e = &cborEmitter{buf: make([]byte, 0, 384)}
	case MsgPack:
		e = newMsgpackEmitter()
	default:
		return nil, fmt.Errorf("encode report: unknown format %v", format)
	}
	w := writer{e: e, short: style == ShortKeys, customOrder: order}
	w.report(r)
	return e.bytes()
}

// Validate checks a report against the rules that Decode applies, and
// returns an *Error naming the first field at fault (with long key names).
func (r *Report) Validate() error {
	data, err := Encode(r, JSON, LongKeys)
	if err != nil {
		return err
	}
	_, err = DecodeOptions{MaxSize: len(data) + 1}.Decode(JSON, data)
	return err
}

// writer walks a report and drives an emitter.
type writer struct {
	e           emitter
	short       bool
	customOrder []int // the custom metrics by name, or nil when in name order
}

func (w *writer) key(f field) {
	if w.short {
		w.e.key(f.short)
	} else {
		w.e.key(f.long)
	}
}

func presentCount(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

func (w *writer) report(r *Report) {
	w.e.mapHeader(presentCount(true, r.Metrics != nil, r.CustomMetrics != nil))
	w.key(rootFields[0])
	w.e.mapHeader(2)
	w.key(headerFields[0])
	w.e.uint(uint64(r.Header.ReportID))
	w.key(headerFields[1])
	w.e.str(r.Header.Version)
	w.e.end()
	if r.Metrics != nil {
		w.key(rootFields[1])
		w.metrics(r.Metrics)
	}
	if r.CustomMetrics != nil {
		w.key(rootFields[2])
		w.customMetrics(r.CustomMetrics)
	}
	w.e.end()
}

func (w *writer) metrics(m *Metrics) {
	w.e.mapHeader(presentCount(m.ListeningTCPPorts != nil, m.ListeningUDPPorts != nil, m.NetworkStats != nil, m.TCPConnections != nil))
	if m.ListeningTCPPorts != nil {
		w.key(metricsFields[0])
		w.portList(m.ListeningTCPPorts)
	}
	if m.ListeningUDPPorts != nil {
		w.key(metricsFields[1])
		w.portList(m.ListeningUDPPorts)
	}
	if m.NetworkStats != nil {
		w.key(metricsFields[2])
		w.networkStats(m.NetworkStats)
	}
	if m.TCPConnections != nil {
		w.key(metricsFields[3])
		w.tcpConnections(m.TCPConnections)
	}
	w.e.end()
}

func (w *writer) portList(p *PortList) {
	w.e.mapHeader(presentCount(p.Ports != nil, p.Total != nil))
	if p.Ports != nil {
		w.key(portsFields[0])
		w.e.listHeader(len(p.Ports))
		for _, port := range p.Ports {
			w.e.mapHeader(presentCount(true, port.Interface != ""))
			w.key(portFields[0])
			w.e.uint(uint64(port.Port))
			if port.Interface != "" {
				w.key(portFields[1])
				w.e.str(port.Interface)
			}
			w.e.end()
		}
		w.e.end()
	}
	if p.Total != nil {
		w.key(portsFields[1])
		w.e.uint(*p.Total)
	}
	w.e.end()
}

func (w *writer) networkStats(s *NetworkStats) {
	values := [...]*uint64{s.BytesIn, s.BytesOut, s.PacketsIn, s.PacketsOut}
	w.e.mapHeader(presentCount(values[0] != nil, values[1] != nil, values[2] != nil, values[3] != nil))
	for i, v := range values {
		if v != nil {
			w.key(statsFields[i])
			w.e.uint(*v)
		}
	}
	w.e.end()
}

func (w *writer) tcpConnections(t *TCPConnections) {
	w.e.mapHeader(presentCount(t.EstablishedConnections != nil))
	if ec := t.EstablishedConnections; ec != nil {
		w.key(tcpFields[0])
		w.e.mapHeader(presentCount(ec.Connections != nil, ec.Total != nil))
		if ec.Connections != nil {
			w.key(estabFields[0])
			w.e.listHeader(len(ec.Connections))
			for i := range ec.Connections {
				w.connection(&ec.Connections[i])
			}
			w.e.end()
		}
		if ec.Total != nil {
			w.key(estabFields[1])
			w.e.uint(*ec.Total)
		}
		w.e.end()
	}
	w.e.end()
}

func (w *writer) connection(c *Connection) {
	w.e.mapHeader(presentCount(true, c.LocalPort != 0, c.LocalInterface != ""))
	w.key(connFields[0])
	w.e.str(c.RemoteAddr.String())
	if c.LocalPort != 0 {
		w.key(connFields[1])
		w.e.uint(uint64(c.LocalPort))
	}
	if c.LocalInterface != "" {
		w.key(connFields[2])
		w.e.str(c.LocalInterface)
	}
	w.e.end()
}

func (w *writer) customMetrics(list []CustomMetric) {
	w.e.mapHeader(len(list))
	for i := range list {
		m := &list[i]
		if w.customOrder != nil {
			m = &list[w.customOrder[i]]
		}
		w.e.key(m.Name)
		w.e.listHeader(1)
		w.customValue(&m.Value)
		w.e.end()
	}
	w.e.end()
}

// customOrder returns the order in which to write custom metrics: nil when
// the list is in ascending name order, else its indexes sorted by name.
// twice is the index of a metric whose name the list holds twice, or -1.
func customOrder(list []CustomMetric) (order []int, twice int) {
	if slices.IsSortedFunc(list, compareCustomNames) {
		for i := 1; i < len(list); i++ {
			if list[i].Name == list[i-1].Name {
				return nil, i
			}
		}
		return nil, -1
	}
	order = make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(list[a].Name, list[b].Name) })
	for i := 1; i < len(order); i++ {
		if list[order[i]].Name == list[order[i-1]].Name {
			return nil, order[i]
		}
	}
	return order, -1
}

// customTwice is the error for a custom metric name given twice, with its
// path spelled as the decoder spells it.
func customTwice(name string, style KeyStyle) *Error {
	root := rootFields[2].long
	if style == ShortKeys {
		root = rootFields[2].short
	}
	if name == "" {
		name = `""`
	}
	return errorf(InvalidPayload, root+"."+truncate(name, 128), "given twice")
}

func (w *writer) customValue(v *CustomValue) {
	w.e.mapHeader(1)
	w.e.key(v.Type.reportKey())
	switch v.Type {
	case CustomNumber:
		w.e.float(v.Number)
	case CustomNumberList:
		w.e.listHeader(len(v.Numbers))
		for _, f := range v.Numbers {
			w.e.float(f)
		}
		w.e.end()
	case CustomStringList:
		w.e.listHeader(len(v.Strings))
		for _, s := range v.Strings {
			w.e.str(s)
		}
		w.e.end()
	case CustomIPList:
		w.e.listHeader(len(v.IPs))
		for _, ip := range v.IPs {
			w.e.str(ip.String())
		}
		w.e.end()
	}
	w.e.end()
}
