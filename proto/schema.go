package proto

import (
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// The keys of the document, long and short.
var (
	rootFields    = []field{{"header", "hed"}, {"metrics", "met"}, {"custom_metrics", "cmet"}}
	headerFields  = []field{{"report_id", "rid"}, {"version", "v"}}
	metricsFields = []field{{"listening_tcp_ports", "tp"}, {"listening_udp_ports", "up"}, {"network_stats", "ns"}, {"tcp_connections", "tc"}}
	portsFields   = []field{{"ports", "pts"}, {"total", "t"}}
	portFields    = []field{{"port", "pt"}, {"interface", "if"}}
	statsFields   = []field{{"bytes_in", "bi"}, {"bytes_out", "bo"}, {"packets_in", "pi"}, {"packets_out", "po"}}
	tcpFields     = []field{{"established_connections", "ec"}}
	estabFields   = []field{{"connections", "cs"}, {"total", "t"}}
	connFields    = []field{{"remote_addr", "rad"}, {"local_port", "lp"}, {"local_interface", "li"}}
	// Custom metric value keys have one spelling only.
	customFields = []field{{"number", "number"}, {"number_list", "number_list"}, {"string_list", "string_list"}, {"ip_list", "ip_list"}}
)

func (d *decoder) root() error {
	seen, err := d.fields(rootFields, func(i int) error {
		switch i {
		case 0:
			return d.header()
		case 1:
			d.rep.Metrics = &Metrics{}
			return d.metrics(d.rep.Metrics)
		default:
			return d.customMetrics()
		}
	})
	if err != nil {
		return err
	}
	switch {
	case seen&1 == 0:
		return errorf(InvalidPayload, "header", "required")
	case seen&6 == 0:
		return errorf(InvalidPayload, "report", "must hold metrics or custom_metrics")
	}
	return nil
}

func (d *decoder) header() error {
	seen, err := d.fields(headerFields, func(i int) error {
		if i == 0 {
			id, err := d.unsigned(math.MaxInt64, "a positive integer of at most 2^63-1")
			if err == nil && id == 0 {
				err = d.invalid("must be a positive integer, got 0")
			}
			d.rep.Header.ReportID = int64(id)
			return err
		}
		v, err := d.str()
		if err == nil {
			err = d.version(v)
		}
		d.rep.Header.Version = v
		return err
	})
	if err != nil {
		return err
	}
	for i, f := range headerFields {
		if seen&(1<<i) == 0 {
			return d.invalid("%s is required", f.long)
		}
	}
	return nil
}

// version checks a "Major.Minor" version string of major version 1.
func (d *decoder) version(v string) error {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || !isDigits(major) || !isDigits(minor) {
		return d.invalid("must be a \"Major.Minor\" version string, got %q", v)
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
	_, err := d.fields(metricsFields, func(i int) error {
		switch i {
		case 0:
			m.ListeningTCPPorts = &PortList{}
			return d.portList(m.ListeningTCPPorts)
		case 1:
			m.ListeningUDPPorts = &PortList{}
			return d.portList(m.ListeningUDPPorts)
		case 2:
			m.NetworkStats = &NetworkStats{}
			return d.networkStats(m.NetworkStats)
		default:
			m.TCPConnections = &TCPConnections{}
			return d.tcpConnections(m.TCPConnections)
		}
	})
	return err
}

func (d *decoder) portList(p *PortList) error {
	_, err := d.fields(portsFields, func(i int) error {
		if i == 1 {
			var err error
			p.Total, err = d.count()
			return err
		}
		return d.list(func(int) error {
			var port Port
			err := d.port(&port)
			p.Ports = append(p.Ports, port)
			return err
		})
	})
	return err
}

func (d *decoder) port(p *Port) error {
	seen, err := d.fields(portFields, func(i int) error {
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
	if err == nil && seen&1 == 0 {
		err = d.invalid("port is required")
	}
	return err
}

func (d *decoder) networkStats(s *NetworkStats) error {
	targets := [...]**uint64{&s.BytesIn, &s.BytesOut, &s.PacketsIn, &s.PacketsOut}
	_, err := d.fields(statsFields, func(i int) error {
		var err error
		*targets[i], err = d.count()
		return err
	})
	return err
}

func (d *decoder) tcpConnections(t *TCPConnections) error {
	_, err := d.fields(tcpFields, func(int) error {
		t.EstablishedConnections = &EstablishedConnections{}
		return d.established(t.EstablishedConnections)
	})
	return err
}

func (d *decoder) established(e *EstablishedConnections) error {
	_, err := d.fields(estabFields, func(i int) error {
		if i == 1 {
			var err error
			e.Total, err = d.count()
			return err
		}
		return d.list(func(int) error {
			var c Connection
			err := d.connection(&c)
			e.Connections = append(e.Connections, c)
			return err
		})
	})
	return err
}

func (d *decoder) connection(c *Connection) error {
	seen, err := d.fields(connFields, func(i int) error {
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
	if err == nil && seen&1 == 0 {
		err = d.invalid("remote_addr is required")
	}
	return err
}

func (d *decoder) remoteAddr(c *Connection) error {
	s, err := d.str()
	if err != nil {
		return err
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return d.invalid("must be \"ip:port\" with an IPv4 or [IPv6] address, got %q", truncate(s, 64))
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

// customMetricName is the AWS pattern for custom metric names.
var customMetricName = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)

// ValidCustomMetricName reports whether name is a valid custom metric name:
// 1 to 128 characters of [a-zA-Z0-9:_-], not starting with "aws:".
func ValidCustomMetricName(name string) bool {
	return customMetricName.MatchString(name) && !strings.HasPrefix(name, "aws:")
}

func (d *decoder) customMetrics() error {
	if err := d.expect(kindMap); err != nil {
		return err
	}
	if err := d.r.openMap(); err != nil {
		return d.malformed(err)
	}
	d.rep.CustomMetrics = map[string]CustomValue{}
	for {
		key, ok, err := d.r.nextKey()
		if err != nil {
			return d.malformed(err)
		}
		if !ok {
			return nil
		}
		if err := d.customMetric(string(key)); err != nil {
			return err
		}
	}
}

func (d *decoder) customMetric(name string) error {
	d.path = append(d.path, pathSeg{key: name})
	defer func() { d.path = d.path[:len(d.path)-1] }()
	if !ValidCustomMetricName(name) {
		return d.invalid("is not a valid custom metric name (1 to 128 of a-z A-Z 0-9 : _ -, not starting with aws:)")
	}
	if _, dup := d.rep.CustomMetrics[name]; dup {
		return d.invalid("given twice")
	}
	if k, err := d.r.peek(); err != nil {
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
	d.rep.CustomMetrics[name] = v
	return err
}

func (d *decoder) customValue(v *CustomValue) error {
	types := [...]CustomMetricType{CustomNumber, CustomNumberList, CustomStringList, CustomIPList}
	seen, err := d.fields(customFields, func(i int) error {
		if v.Type != "" {
			return d.invalid("a value map holds one of number, number_list, string_list, ip_list; this one also has %s", v.Type.reportKey())
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
		v.Numbers = []float64{}
		return d.list(func(int) error {
			f, err := d.finite()
			v.Numbers = append(v.Numbers, f)
			return err
		})
	case CustomStringList:
		v.Strings = []string{}
		return d.list(func(int) error {
			s, err := d.str()
			v.Strings = append(v.Strings, s)
			return err
		})
	default:
		v.IPs = []netip.Addr{}
		return d.list(func(int) error {
			s, err := d.str()
			if err != nil {
				return err
			}
			ip, perr := netip.ParseAddr(s)
			if perr != nil {
				return d.invalid("must be an IPv4 or IPv6 address, got %q", truncate(s, 64))
			}
			v.IPs = append(v.IPs, ip)
			return nil
		})
	}
}
