package proto

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The keys of the document, long and short, by the map they belong to.
var (
	rootFields    = []field{{"header", "hed", keyHeader}, {"metrics", "met", keyMetrics}, {"custom_metrics", "cmet", keyCustomMetrics}}
	headerFields  = []field{{"report_id", "rid", keyReportID}, {"version", "v", keyVersion}}
	metricsFields = []field{{"listening_tcp_ports", "tp", keyTCPPorts}, {"listening_udp_ports", "up", keyUDPPorts}, {"network_stats", "ns", keyNetworkStats}, {"tcp_connections", "tc", keyTCPConnections}}
	portsFields   = []field{{"ports", "pts", keyPorts}, {"total", "t", keyTotal}}
	portFields    = []field{{"port", "pt", keyPort}, {"interface", "if", keyInterface}}
	statsFields   = []field{{"bytes_in", "bi", keyBytesIn}, {"bytes_out", "bo", keyBytesOut}, {"packets_in", "pi", keyPacketsIn}, {"packets_out", "po", keyPacketsOut}}
	tcpFields     = []field{{"established_connections", "ec", keyEstablished}}
	estabFields   = []field{{"connections", "cs", keyConnections}, {"total", "t", keyTotal}}
	connFields    = []field{{"remote_addr", "rad", keyRemoteAddr}, {"local_port", "lp", keyLocalPort}, {"local_interface", "li", keyLocalInterface}}
	// Custom metric value keys have one spelling only.
	customFields = []field{{"number", "number", keyNumber}, {"number_list", "number_list", keyNumberList}, {"string_list", "string_list", keyStringList}, {"ip_list", "ip_list", keyIPList}}
)

// keyID names a key of the document in either spelling.
type keyID uint8

// The keys of the document.
const (
	keyUnknown keyID = iota
	keyHeader
	keyMetrics
	keyCustomMetrics
	keyReportID
	keyVersion
	keyTCPPorts
	keyUDPPorts
	keyNetworkStats
	keyTCPConnections
	keyPorts
	keyTotal
	keyPort
	keyInterface
	keyBytesIn
	keyBytesOut
	keyPacketsIn
	keyPacketsOut
	keyEstablished
	keyConnections
	keyRemoteAddr
	keyLocalPort
	keyLocalInterface
	keyNumber
	keyNumberList
	keyStringList
	keyIPList
)

// keyIndex is the index of each key in its table. A key that belongs to
// two tables ("total") has the same index in both.
var keyIndex = func() (index [keyIPList + 1]uint8) {
	for i := range index {
		index[i] = math.MaxUint8
	}
	for _, table := range [][]field{rootFields, headerFields, metricsFields, portsFields, portFields, statsFields, tcpFields, estabFields, connFields, customFields} {
		for i, f := range table {
			if index[f.id] != math.MaxUint8 && index[f.id] != uint8(i) {
				panic("proto: key " + f.long + " has two indexes")
			}
			index[f.id] = uint8(i)
		}
	}
	return index
}()

// twoLetterKeys holds the keys spelled with two lower-case letters, by
// (first-'a')*26 + (second-'a'), for keyOf.
var twoLetterKeys = func() (t [26 * 26]struct {
	id    keyID
	short bool
}) {
	for _, table := range [][]field{rootFields, headerFields, metricsFields, portsFields, portFields, statsFields, tcpFields, estabFields, connFields, customFields} {
		for _, f := range table {
			for _, sp := range [...]struct {
				s     string
				short bool
			}{{f.long, false}, {f.short, f.short != f.long}} {
				if len(sp.s) != 2 || sp.s[0]-'a' >= 26 || sp.s[1]-'a' >= 26 {
					continue
				}
				e := &t[int(sp.s[0]-'a')*26+int(sp.s[1]-'a')]
				e.id, e.short = f.id, sp.short
			}
		}
	}
	return t
}()

// keyOf identifies a key, and tells whether it is the short spelling. A
// switch over constant strings compiles to a few comparisons of lengths and
// words, much cheaper than comparing with each entry of a table; a key of
// two letters is looked up in twoLetterKeys instead. The tables above and
// this switch must agree, which a test checks.
func keyOf(b []byte) (keyID, bool) {
	if len(b) == 2 { // most short keys: one load from a table
		if i, j := b[0]-'a', b[1]-'a'; i < 26 && j < 26 {
			k := twoLetterKeys[int(i)*26+int(j)]
			return k.id, k.short
		}
		return keyUnknown, false
	}
	switch string(b) {
	case "header":
		return keyHeader, false
	case "hed":
		return keyHeader, true
	case "metrics":
		return keyMetrics, false
	case "met":
		return keyMetrics, true
	case "custom_metrics":
		return keyCustomMetrics, false
	case "cmet":
		return keyCustomMetrics, true
	case "report_id":
		return keyReportID, false
	case "rid":
		return keyReportID, true
	case "version":
		return keyVersion, false
	case "v":
		return keyVersion, true
	case "listening_tcp_ports":
		return keyTCPPorts, false
	case "listening_udp_ports":
		return keyUDPPorts, false
	case "network_stats":
		return keyNetworkStats, false
	case "tcp_connections":
		return keyTCPConnections, false
	case "ports":
		return keyPorts, false
	case "pts":
		return keyPorts, true
	case "total":
		return keyTotal, false
	case "t":
		return keyTotal, true
	case "port":
		return keyPort, false
	case "interface":
		return keyInterface, false
	case "bytes_in":
		return keyBytesIn, false
	case "bytes_out":
		return keyBytesOut, false
	case "packets_in":
		return keyPacketsIn, false
	case "packets_out":
		return keyPacketsOut, false
	case "established_connections":
		return keyEstablished, false
	case "connections":
		return keyConnections, false
	case "remote_addr":
		return keyRemoteAddr, false
	case "rad":
		return keyRemoteAddr, true
	case "local_port":
		return keyLocalPort, false
	case "local_interface":
		return keyLocalInterface, false
	case "number":
		return keyNumber, false
	case "number_list":
		return keyNumberList, false
	case "string_list":
		return keyStringList, false
	case "ip_list":
		return keyIPList, false
	}
	return keyUnknown, false
}

func (d *decoder) root() error {
	seen, err := d.fields(rootTable, func(i int) error {
		switch i {
		case 0:
			return d.header()
		case 1:
			d.rep.Metrics = &d.block().metrics
			return d.metrics(d.rep.Metrics)
		default:
			return d.customMetrics()
		}
	})
	if err != nil {
		return err
	}
	if err := d.require(rootTable, seen, 1); err != nil {
		return err
	}
	if seen&6 == 0 {
		if d.short {
			return errorf(InvalidPayload, "report", "must hold met or cmet")
		}
		return errorf(InvalidPayload, "report", "must hold metrics or custom_metrics")
	}
	return nil
}

func (d *decoder) header() error {
	seen, err := d.fields(headerTable, func(i int) error {
		if i == 0 {
			id, err := d.unsigned(math.MaxInt64, "a positive integer of at most 2^63-1")
			if err == nil && id == 0 {
				err = d.invalid("must be a positive integer, got 0")
			}
			d.rep.Header.ReportID = int64(id)
			return err
		}
		b, err := d.text()
		if err != nil {
			return err
		}
		v := CurrentVersion
		if string(b) != v {
			v = string(b)
		}
		d.rep.Header.Version = v
		return d.version(v)
	})
	if err != nil {
		return err
	}
	return d.require(headerTable, seen, 3)
}

// version checks a "Major.Minor" version string of major version 1.
func (d *decoder) version(v string) error {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || !isDigits(major) || !isDigits(minor) {
		return d.invalid("must be a \"Major.Minor\" version string, got %q", truncate(v, 64))
	}
	if n, _ := strconv.Atoi(major); n != 1 {
		return d.invalid("major version %s is not supported (want 1)", major)
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (d *decoder) metrics(m *Metrics) error {
	_, err := d.fields(metricsTable, func(i int) error {
		b := d.block()
		switch i {
		case 0:
			m.ListeningTCPPorts = &b.tcp
			return d.portList(m.ListeningTCPPorts, &b.counts[0], b.ports(0))
		case 1:
			m.ListeningUDPPorts = &b.udp
			return d.portList(m.ListeningUDPPorts, &b.counts[1], b.ports(1))
		case 2:
			m.NetworkStats = &b.stats
			return d.networkStats(m.NetworkStats, b.counts[2:6])
		default:
			m.TCPConnections = &b.tcpConns
			return d.tcpConnections(m.TCPConnections)
		}
	})
	return err
}

// ports returns the room for the TCP (0) or UDP (1) ports, or nil.
func (b *reportBlock) ports(list int) *[blockItems]Port {
	switch {
	case b.room == nil:
		return nil
	case list == 0:
		return &b.room.tcpPorts
	}
	return &b.room.udpPorts
}

// conns returns the room for the connections, or nil.
func (b *reportBlock) conns() *[blockItems]Connection {
	if b.room == nil {
		return nil
	}
	return &b.room.conns
}

// The fewest bytes an item of a list can take in any encoding, to bound
// what a list's declared length may make the decoder allocate: a number or
// an empty string takes 1, an IP address 3 ("::"), a port map 5 ({pt: 1} in
// CBOR), a connection map 12 ({rad: "[::]:0"}).
const (
	minNumberBytes     = 1
	minStringBytes     = 1
	minIPBytes         = 3
	minPortBytes       = 5
	minConnectionBytes = 12
)

func (d *decoder) portList(p *PortList, total *uint64, room *[blockItems]Port) error {
	_, err := d.fields(portsTable, func(i int) error {
		if i == 1 {
			var err error
			p.Total, err = d.count(total)
			return err
		}
		n, declared, err := d.openList(minPortBytes)
		if err != nil {
			return err
		}
		p.Ports = listSlice(n, declared, room)
		return d.items(func(int) error { // each item is read in place
			p.Ports = append(p.Ports, Port{})
			return d.port(&p.Ports[len(p.Ports)-1])
		})
	})
	return err
}

// listSlice returns an empty slice to read a list into: the room given
// when there is one (nil when there is none) and the list fits it or does
// not declare its length, else room for the n items declared, else room
// for blockItems.
func listSlice[T any](n int, declared bool, room *[blockItems]T) []T {
	switch {
	case room != nil && (!declared || n <= blockItems):
		return room[:0]
	case declared:
		return make([]T, 0, n)
	}
	return make([]T, 0, blockItems)
}

func (d *decoder) port(p *Port) error {
	seen, err := d.fields(portTable, func(i int) error {
		if i == 1 {
			var err error
			p.Interface, err = d.interfaceName()
			return err
		}
		n, err := d.unsigned(math.MaxUint16, "a port number from 1 to 65535")
		if err == nil && n == 0 {
			err = d.invalid("must be a port number from 1 to 65535, got 0")
		}
		p.Port = uint16(n)
		return err
	})
	if err != nil {
		return err
	}
	return d.require(portTable, seen, 1)
}

func (d *decoder) networkStats(s *NetworkStats, slots []uint64) error {
	targets := [...]**uint64{&s.BytesIn, &s.BytesOut, &s.PacketsIn, &s.PacketsOut}
	_, err := d.fields(statsTable, func(i int) error {
		var err error
		*targets[i], err = d.count(&slots[i])
		return err
	})
	return err
}

func (d *decoder) tcpConnections(t *TCPConnections) error {
	_, err := d.fields(tcpTable, func(int) error {
		t.EstablishedConnections = &d.block().estab
		return d.established(t.EstablishedConnections)
	})
	return err
}

func (d *decoder) established(e *EstablishedConnections) error {
	_, err := d.fields(estabTable, func(i int) error {
		if i == 1 {
			var err error
			e.Total, err = d.count(&d.block().counts[6])
			return err
		}
		n, declared, err := d.openList(minConnectionBytes)
		if err != nil {
			return err
		}
		e.Connections = listSlice(n, declared, d.block().conns())
		return d.items(func(int) error { // each item is read in place
			e.Connections = append(e.Connections, Connection{})
			return d.connection(&e.Connections[len(e.Connections)-1])
		})
	})
	return err
}

func (d *decoder) connection(c *Connection) error {
	seen, err := d.fields(connTable, func(i int) error {
		switch i {
		case 0:
			return d.remoteAddr(c)
		case 1:
			n, err := d.unsigned(math.MaxUint16, "a port number from 0 to 65535")
			c.LocalPort = uint16(n)
			return err
		default:
			var err error
			c.LocalInterface, err = d.interfaceName()
			return err
		}
	})
	if err != nil {
		return err
	}
	return d.require(connTable, seen, 1)
}

func (d *decoder) remoteAddr(c *Connection) error {
	b, err := d.text()
	if err != nil {
		return err
	}
	ap, err := parseAddrPort(b)
	if err != nil {
		return d.invalid("must be \"ip:port\" with an IPv4 or [IPv6] address, got %q", truncate(string(b), 64))
	}
	c.RemoteAddr = ap
	return nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ValidCustomMetricName reports whether name is a valid custom metric name:
// 1 to 128 characters of [a-zA-Z0-9:_-], not starting with "aws:".
func ValidCustomMetricName(name string) bool {
	return validCustomMetricName(name)
}

func validCustomMetricName[T ~string | ~[]byte](name T) bool {
	if len(name) == 0 || len(name) > 128 || (len(name) >= 4 && string(name[:4]) == "aws:") {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ':', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// customMetrics reads the custom_metrics block into the report, in name
// order. A metric read before a failure stays in the report.
func (d *decoder) customMetrics() error {
	if err := d.expect(kindMap); err != nil {
		return err
	}
	d.next = 0
	if err := d.r.openMap(); err != nil {
		return d.malformed(err)
	}
	d.rep.CustomMetrics = d.customRoom()
	err := d.customEntries()
	sortCustom(d.rep.CustomMetrics)
	return err
}

// sortCustom puts the custom metrics in name order. Each metric is 112
// bytes holding pointers, so that past a few, sorting them in place costs
// more in moves and write barriers than sorting their indexes and then
// moving each metric once, along the cycles of the permutation.
func sortCustom(list []CustomMetric) {
	switch {
	case slices.IsSortedFunc(list, compareCustomNames): // a typical report
		return
	case len(list) <= linearNames:
		slices.SortFunc(list, compareCustomNames)
		return
	}
	from := make([]int32, len(list)) // from[i]: the index of the metric that goes to i
	for i := range from {
		from[i] = int32(i)
	}
	slices.SortFunc(from, func(a, b int32) int { return strings.Compare(list[a].Name, list[b].Name) })
	for start := range from {
		if from[start] == int32(start) {
			continue
		}
		held := list[start]
		i := start
		for int(from[i]) != start {
			next := int(from[i])
			list[i], from[i] = list[next], int32(i)
			i = next
		}
		list[i], from[i] = held, int32(i)
	}
}

// customRoom returns an empty, non-nil list for the custom metrics, with
// room for one in the report's block: most reports carry one at most.
func (d *decoder) customRoom() []CustomMetric {
	if d.blk == nil {
		return []CustomMetric{}
	}
	return d.blk.custom[:0:1]
}

// customEntries reads the members of the custom_metrics map, in the order
// given.
func (d *decoder) customEntries() error {
	var names metricNames
	for {
		key, next, ok, err := d.r.nextKey()
		d.next = next
		if err != nil {
			return d.malformed(err)
		}
		if !ok {
			return nil
		}
		if !validCustomMetricName(key) {
			d.key = append(d.key[:0], key...)
			return d.invalidAt(pathSeg{table: stepKey}, "is not a valid custom metric name (1 to 128 of a-z A-Z 0-9 : _ -, not starting with aws:)")
		}
		if err := d.customMetric(string(key), &names); err != nil {
			return err
		}
	}
}

func (d *decoder) customMetric(name string, names *metricNames) error {
	d.metric = name
	d.push(pathSeg{table: stepMetric})
	defer d.pop()
	if names.has(d.rep.CustomMetrics, name) {
		return d.invalid("given twice")
	}
	if k, err := d.peek(); err != nil {
		return d.malformed(err)
	} else if k != kindList {
		return d.invalid("must be a list holding one value map, like [{\"number\": 1}], got %s", k)
	}
	var v CustomValue
	n := 0
	err := d.list(func(int) error {
		n++
		if n > 1 {
			return d.invalid("the list must hold exactly one value map, got more")
		}
		return d.customValue(&v)
	})
	if err == nil && n == 0 {
		err = d.invalid("the list must hold exactly one value map, got none")
	}
	d.rep.CustomMetrics = append(d.rep.CustomMetrics, CustomMetric{Name: name, Value: v})
	return err
}

// linearNames is how many custom metrics are searched one by one for a
// name given twice. Past it, their names go into a set, so that a report of
// thousands of names is not checked in quadratic time.
const linearNames = 16

// metricNames finds a name among the custom metrics read so far.
type metricNames struct {
	set map[string]struct{} // the names of the first len(set) metrics, or nil
}

// has reports whether a metric of list, whose names are unique, is named
// name.
func (s *metricNames) has(list []CustomMetric, name string) bool {
	if s.set == nil {
		if len(list) <= linearNames {
			for i := range list {
				if list[i].Name == name {
					return true
				}
			}
			return false
		}
		s.set = make(map[string]struct{}, 2*len(list))
	}
	for _, m := range list[len(s.set):] {
		s.set[m.Name] = struct{}{}
	}
	_, ok := s.set[name]
	return ok
}

func (d *decoder) customValue(v *CustomValue) error {
	types := [...]CustomMetricType{CustomNumber, CustomNumberList, CustomStringList, CustomIPList}
	seen, err := d.fields(customTable, func(i int) error {
		if v.Type != "" {
			return d.invalid("is given with %s; a value map holds exactly one of number, number_list, string_list or ip_list", v.Type.reportKey())
		}
		v.Type = types[i]
		return d.customContent(v)
	})
	if err == nil && seen == 0 {
		err = d.invalid("must hold one of number, number_list, string_list or ip_list")
	}
	return err
}

func (d *decoder) customContent(v *CustomValue) error {
	switch v.Type {
	case CustomNumber:
		var err error
		v.Number, err = d.finite()
		return err
	case CustomNumberList:
		n, _, err := d.openList(minNumberBytes)
		if err != nil {
			return err
		}
		v.Numbers = make([]float64, 0, n)
		return d.items(func(int) error {
			f, err := d.finite()
			v.Numbers = append(v.Numbers, f)
			return err
		})
	case CustomStringList:
		n, _, err := d.openList(minStringBytes)
		if err != nil {
			return err
		}
		v.Strings = make([]string, 0, n)
		return d.items(func(int) error {
			s, err := d.str()
			v.Strings = append(v.Strings, s)
			return err
		})
	default:
		n, _, err := d.openList(minIPBytes)
		if err != nil {
			return err
		}
		v.IPs = make([]netip.Addr, 0, n)
		return d.items(func(int) error {
			b, err := d.text()
			if err != nil {
				return err
			}
			ip, perr := parseAddr(b)
			if perr != nil {
				return d.invalid("must be an IPv4 or IPv6 address, got %q", truncate(string(b), 64))
			}
			v.IPs = append(v.IPs, ip)
			return nil
		})
	}
}
