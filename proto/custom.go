package proto

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// DecodeCustomMetrics reads a custom_metrics block on its own, as JSON:
// {"name": [{"number": 1}], ...}. It applies the rules of the block inside a
// report, names the field at fault in the same way, and returns the metrics
// in name order, as in Report.CustomMetrics.
func DecodeCustomMetrics(data []byte) ([]CustomMetric, error) {
	if len(data) > DefaultMaxReportSize {
		return nil, errorf(ReportTooLarge, "custom_metrics", "%d bytes is over the limit of %d bytes", len(data), DefaultMaxReportSize)
	}
	d := decoder{r: newJSONReader(data), rep: &Report{}}
	d.push(pathSeg{index: 2, table: rootTable}) // custom_metrics
	if err := d.customMetrics(); err != nil {
		return nil, err
	}
	d.pop()
	if err := d.r.finish(); err != nil {
		return nil, d.malformed(err)
	}
	return d.rep.CustomMetrics, nil
}

// ParseCustomMetricLine reads one custom metric written as a line of text:
// "NAME TYPE VALUE", where TYPE is number, number-list, string-list or
// ip-address-list and a list VALUE is comma-separated ("cpu number 12.5",
// "users string-list alice,bob"). A string-list VALUE may be empty.
func ParseCustomMetricLine(line string) (string, CustomValue, error) {
	fields := strings.Fields(line)
	if len(fields) < 2 || len(fields) > 3 {
		return "", CustomValue{}, fmt.Errorf("custom metric line %q: want NAME TYPE VALUE", line)
	}
	name, typ, value := fields[0], CustomMetricType(fields[1]), ""
	if len(fields) == 3 {
		value = fields[2]
	}
	if !ValidCustomMetricName(name) {
		return "", CustomValue{}, fmt.Errorf("custom metric %q: invalid name (1 to 128 of a-z A-Z 0-9 : _ -, not starting with aws:)", name)
	}
	v, err := parseCustomValue(typ, value)
	if err != nil {
		return "", CustomValue{}, fmt.Errorf("custom metric %q: %w", name, err)
	}
	return name, v, nil
}

func parseCustomValue(typ CustomMetricType, value string) (CustomValue, error) {
	v := CustomValue{Type: typ}
	items := []string{}
	if value != "" {
		items = strings.Split(value, ",")
	}
	switch typ {
	case CustomNumber:
		f, err := parseFinite(value)
		v.Number = f
		return v, err
	case CustomNumberList:
		v.Numbers = make([]float64, 0, len(items))
		for _, s := range items {
			f, err := parseFinite(s)
			if err != nil {
				return v, err
			}
			v.Numbers = append(v.Numbers, f)
		}
	case CustomStringList:
		v.Strings = items
	case CustomIPList:
		v.IPs = make([]netip.Addr, 0, len(items))
		for _, s := range items {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return v, fmt.Errorf("%q is not an IP address", s)
			}
			v.IPs = append(v.IPs, ip)
		}
	default:
		return v, fmt.Errorf("unknown type %q (want number, number-list, string-list or ip-address-list)", typ)
	}
	return v, nil
}

func parseFinite(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return f, nil
}

// CheckCustomMetrics checks the custom metrics of a report against the
// registered metric types: typeOf returns a metric's type and whether it
// exists. The error is an *Error with code UnknownCustomMetric or
// CustomMetricTypeMismatch, for the first metric at fault in the order of
// r.CustomMetrics (name order).
func CheckCustomMetrics(r *Report, typeOf func(name string) (CustomMetricType, bool)) error {
	for i := range r.CustomMetrics {
		m := &r.CustomMetrics[i]
		want, ok := typeOf(m.Name)
		if !ok {
			return errorf(UnknownCustomMetric, "custom_metrics."+m.Name, "no custom metric of this name is defined")
		}
		if want != m.Value.Type {
			return errorf(CustomMetricTypeMismatch, "custom_metrics."+m.Name, "is defined as %s but the report sends %s", want, m.Value.Type.reportKey())
		}
	}
	return nil
}
