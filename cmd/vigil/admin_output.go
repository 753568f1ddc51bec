package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes an API answer indented; an empty answer is written as
// {} so that the output is always JSON.
func (s *session) printJSON(answer []byte) error {
	if len(bytes.TrimSpace(answer)) == 0 {
		answer = []byte("{}")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, answer, "", "  "); err != nil {
		return fmt.Errorf("the server's answer is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := s.out.Write(buf.Bytes())
	return err
}

// table collects rows and writes them as aligned columns. Optional columns
// are left out when no row has a value in them, so that a server that
// answers with fewer fields gives a tidy table.
type table struct {
	header   []string
	optional map[int]bool
	rows     [][]string
}

func newTable(header ...string) *table {
	return &table{header: header, optional: map[int]bool{}}
}

// omitEmpty marks the named columns optional.
func (t *table) omitEmpty(names ...string) *table {
	for i, h := range t.header {
		if slices.Contains(names, h) {
			t.optional[i] = true
		}
	}
	return t
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// write writes the table; an empty cell is shown as "-".
func (t *table) write(s *session) error {
	keep := make([]bool, len(t.header))
	for i := range t.header {
		keep[i] = !t.optional[i] || slices.ContainsFunc(t.rows, func(r []string) bool { return r[i] != "" })
	}
	tw := tabwriter.NewWriter(s.out, 0, 8, 2, ' ', 0)
	writeCells(tw, t.header, keep)
	for _, r := range t.rows {
		writeCells(tw, r, keep)
	}
	return tw.Flush()
}

func writeCells(tw *tabwriter.Writer, cells []string, keep []bool) {
	var line []string
	for i, c := range cells {
		if !keep[i] {
			continue
		}
		if c == "" {
			c = "-"
		}
		line = append(line, strings.ReplaceAll(c, "\t", " "))
	}
	fmt.Fprintln(tw, strings.Join(line, "\t"))
}

// apiObject is a JSON object of an API answer, read loosely: the commands
// show what the server sends and tolerate fields it leaves out.
type apiObject map[string]any

func decodeObject(data []byte) (apiObject, error) {
	var o apiObject
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&o); err != nil {
		return nil, fmt.Errorf("the server's answer is not a JSON object: %w", err)
	}
	return o, nil
}

// decodeItems reads the items of a list as objects; an item that is a
// bare string (a list of names) becomes {"name": s}.
func decodeItems(items []json.RawMessage) ([]apiObject, error) {
	out := make([]apiObject, 0, len(items))
	for _, raw := range items {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			out = append(out, apiObject{"name": name})
			continue
		}
		o, err := decodeObject(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// get returns the value at a dotted path ("thingGroupMetadata.creationDate").
func (o apiObject) get(path string) any {
	var v any = map[string]any(o)
	for _, k := range strings.Split(path, ".") {
		m, ok := asMap(v)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// obj returns the object at path, or an empty one.
func (o apiObject) obj(path string) apiObject {
	m, _ := asMap(o.get(path))
	return m
}

// text returns the first of the paths that holds a value, formatted.
func (o apiObject) text(paths ...string) string {
	for _, p := range paths {
		if s := formatValue(o.get(p)); s != "" {
			return s
		}
	}
	return ""
}

// time returns the first of the paths that holds a time, formatted.
func (o apiObject) time(paths ...string) string {
	for _, p := range paths {
		if s := formatTime(o.get(p)); s != "" {
			return s
		}
	}
	return ""
}

func asMap(v any) (apiObject, bool) {
	switch m := v.(type) {
	case apiObject:
		return m, true
	case map[string]any:
		return apiObject(m), true
	}
	return nil, false
}

// formatValue writes a JSON value for a table cell: lists comma-separated,
// maps as sorted k=v pairs.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, ",")
	}
	m, _ := asMap(v)
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+formatValue(m[k]))
	}
	return strings.Join(parts, ",")
}

// formatMetricValue writes an AWS MetricValue ({"count": 3}, {"ports":
// [22, 443]}, ...) as its one value.
func formatMetricValue(v any) string {
	m, ok := asMap(v)
	if !ok {
		return formatValue(v)
	}
	for _, k := range []string{"count", "number", "ports", "cidrs", "numbers", "strings"} {
		if x, ok := m[k]; ok {
			if s := formatValue(x); s != "" || k == "count" || k == "number" {
				return s
			}
			return "none"
		}
	}
	return formatValue(m)
}

// formatTime writes a timestamp of the API in UTC, RFC 3339. The API gives
// epoch seconds (with a fraction, as AWS does); epoch milliseconds and
// RFC 3339 strings are understood too.
func formatTime(v any) string {
	var t time.Time
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return v.String()
		}
		t = epochTime(f)
	case string:
		if v == "" {
			return ""
		}
		var err error
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return v
		}
	default:
		return formatValue(v)
	}
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// epochTime reads epoch seconds, or milliseconds when the number is too
// large to be seconds of this era.
func epochTime(f float64) time.Time {
	if f == 0 {
		return time.Time{}
	}
	if math.Abs(f) >= 1e11 {
		return time.UnixMilli(int64(f))
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
