package proto

import (
	"strconv"
	"strings"
)

// The path to the field being read is kept as a stack of steps without
// pointers, so that going in and out of fields costs no write barrier and
// no allocation; it is spelled out only when an error names it.

// tableID names a table of keys, by the map it belongs to.
type tableID uint8

// The tables of keys, in the order of tables.
const (
	rootTable tableID = iota
	headerTable
	metricsTable
	portsTable
	portTable
	statsTable
	tcpTable
	estabTable
	connTable
	customTable
	numTables
)

// tables holds the keys of each map, by table id.
var tables = [numTables][]field{rootFields, headerFields, metricsFields, portsFields, portFields, statsFields, tcpFields, estabFields, connFields, customFields}

// Path steps that are not a key of a table.
const (
	stepIndex  = numTables + iota // a list index
	stepMetric                    // the custom metric named in decoder.metric
	stepKey                       // the key held in decoder.key
)

// pathSeg is one step of the path to the field being read: a key of a
// table, a list index, or one of the other steps. short tells whether the
// key was spelled short (for an index: whether the list's key was), so
// that a missing key can be named in the style the device writes.
type pathSeg struct {
	index int32   // the key's index in its table, or the list index
	table tableID // the key's table, or stepIndex, stepMetric or stepKey
	short bool
}

// where spells out the path, as the device spelled its keys.
func (d *decoder) where() string {
	if d.nsteps == 0 {
		return "report"
	}
	var b strings.Builder
	for i, s := range d.steps[:d.nsteps] {
		switch {
		case s.table == stepIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(int(s.index)))
			b.WriteByte(']')
			continue
		case i > 0:
			b.WriteByte('.')
		}
		if name := d.stepName(s); name == "" {
			b.WriteString(`""`)
		} else {
			b.WriteString(name)
		}
	}
	return b.String()
}

// stepName is the key of a step that is not a list index.
func (d *decoder) stepName(s pathSeg) string {
	switch s.table {
	case stepMetric:
		return d.metric
	case stepKey:
		return truncate(string(d.key), 64)
	}
	f := &tables[s.table][s.index]
	if s.short {
		return f.short
	}
	return f.long
}

// maxSteps bounds the path. The schema nests six steps deep at most
// (metrics.tcp_connections.established_connections.connections[0].remote_addr),
// and naming a missing or unknown key adds one.
const maxSteps = 8

// push puts a step on the path, and pop takes the last one off.
func (d *decoder) push(s pathSeg) {
	d.steps[d.nsteps] = s
	d.nsteps++
}

func (d *decoder) pop() { d.nsteps-- }

// invalidAt is invalid for the step s under the current path.
func (d *decoder) invalidAt(s pathSeg, format string, args ...any) *Error {
	d.push(s)
	err := d.invalid(format, args...)
	d.pop()
	return err
}
