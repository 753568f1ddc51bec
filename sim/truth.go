package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// TruthRecord is one line of the ground truth: an event on one thing, in
// simulated time.
type TruthRecord struct {
	Thing string `json:"thing"`
	Kind  Kind   `json:"kind"`
	// Start and End are RFC 3339 times in UTC.
	Start string `json:"start"`
	End   string `json:"end"`
	// Incident is false for outage bursts, which a monitor should not flag.
	Incident bool   `json:"incident"`
	Group    string `json:"group,omitempty"`
	// The parameters of the kind, when it has them.
	Factor      float64 `json:"factor,omitempty"`
	Port        uint16  `json:"port,omitempty"`
	Remote      string  `json:"remote,omitempty"`
	Connections int     `json:"connections,omitempty"`
}

// Truth returns the record of an event.
func (in Incident) Truth() TruthRecord {
	t := TruthRecord{
		Thing: in.Thing, Kind: in.Kind, Incident: in.Kind.IsIncident(), Group: in.Group,
		Start: in.Start.UTC().Format(time.RFC3339Nano), End: in.End.UTC().Format(time.RFC3339Nano),
		Factor: in.Factor, Port: in.Port, Connections: in.Connections,
	}
	if in.Remote.IsValid() {
		t.Remote = in.Remote.String()
	}
	return t
}

// WriteTruth writes events as JSON lines.
func WriteTruth(w io.Writer, events []Incident) error {
	enc := json.NewEncoder(w)
	for _, in := range events {
		if err := enc.Encode(in.Truth()); err != nil {
			return fmt.Errorf("write ground truth: %w", err)
		}
	}
	return nil
}
