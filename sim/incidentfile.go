package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// incidentSpec is one event as an incidents file writes it.
type incidentSpec struct {
	Kind  Kind   `json:"kind"`
	Thing string `json:"thing"`
	Group string `json:"group"`
	// Start is an RFC 3339 time, or a duration after the simulation start
	// ("36h").
	Start string `json:"start"`
	// End is an RFC 3339 time or a duration after the simulation start;
	// Duration, a duration after Start, may be given instead.
	End         string  `json:"end"`
	Duration    string  `json:"duration"`
	Factor      float64 `json:"factor"`
	Port        uint16  `json:"port"`
	Remote      string  `json:"remote"`
	Connections int     `json:"connections"`
}

// ParseIncidents reads the events of an incidents file, in JSON: a list of
// events, or an object whose "incidents" key holds one. Each event has a
// kind, a thing or a group (every thing of a city or factory group), a
// start, and an end or a duration; times are RFC 3339 or a duration after
// start, the simulation's start. The parameters a kind takes (factor,
// port, remote, connections) are optional: missing ones are drawn.
func ParseIncidents(data []byte, start time.Time) ([]Incident, error) {
	specs, err := decodeSpecs(data)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	out := make([]Incident, 0, len(specs))
	for n, s := range specs {
		in, err := s.incident(start)
		if err != nil {
			return nil, fmt.Errorf("incident %d: %w", n+1, err)
		}
		out = append(out, in)
	}
	return out, nil
}

func decodeSpecs(data []byte) ([]incidentSpec, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		var doc struct {
			Incidents []incidentSpec `json:"incidents"`
		}
		return doc.Incidents, strictJSON(data, &doc)
	}
	var list []incidentSpec
	return list, strictJSON(data, &list)
}

func strictJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the document")
	}
	return nil
}

func (s incidentSpec) incident(start time.Time) (Incident, error) {
	in := Incident{Kind: s.Kind, Thing: s.Thing, Group: s.Group, Factor: s.Factor, Port: s.Port, Connections: s.Connections}
	var err error
	if in.Start, err = simTime(s.Start, start); err != nil {
		return in, fmt.Errorf("start: %w", err)
	}
	switch {
	case s.End != "" && s.Duration != "":
		return in, errors.New("give an end or a duration, not both")
	case s.End != "":
		in.End, err = simTime(s.End, start)
	case s.Duration != "":
		var d time.Duration
		d, err = time.ParseDuration(s.Duration)
		in.End = in.Start.Add(d)
	default:
		err = errors.New("needs an end or a duration")
	}
	if err != nil {
		return in, fmt.Errorf("end: %w", err)
	}
	if s.Remote != "" {
		if in.Remote, err = netip.ParseAddrPort(s.Remote); err != nil {
			return in, fmt.Errorf("remote: %w", err)
		}
	}
	return in, nil
}

// simTime reads an RFC 3339 time, or a duration after start.
func simTime(s string, start time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("is required")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration after the start", s)
	}
	return start.Add(d).UTC(), nil
}
