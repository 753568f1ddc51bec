package main

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// ViolatingBytesOut is the bytes out of a violating report: far above any
// report the simulator makes without an incident (sim.MaxBytesOut), and
// above the ceiling of the load profile that scripts/load writes.
const ViolatingBytesOut = 1_000_000

// stream is the benchmark's message stream: one encoded report per device
// (two for violators), repeated each interval with an advancing report id.
type stream struct {
	names     []string
	topics    []string
	normal    [][]byte
	violating [][]byte // nil for a device that does not violate
	idAt      []int    // offset of the report id's digits in both payloads
	firstID   []int64
	interval  int64 // milliseconds
}

// newStream encodes the first interval's reports of a simulated fleet.
func newStream(c config) (*stream, error) {
	fleet, err := sim.New(sim.Options{Devices: c.Devices, Seed: c.Seed, Start: c.Start, RebootRate: -1, OutageRate: -1})
	if err != nil {
		return nil, err
	}
	n := fleet.Len()
	s := &stream{names: make([]string, n), topics: make([]string, n), normal: make([][]byte, n), violating: make([][]byte, n),
		idAt: make([]int, n), firstID: make([]int64, n), interval: fleet.Options().Interval.Milliseconds()}
	every := violatorSpacing(c.Violators)
	for i, th := range fleet.Things() {
		s.names[i], s.topics[i] = th.Name, fleet.Topic(i)
		if err := s.encode(fleet, i, every > 0 && i%every == 0); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// violatorSpacing is the distance between two violating devices, or 0 for
// none.
func violatorSpacing(fraction float64) int {
	if fraction <= 0 {
		return 0
	}
	return max(1, int(1/fraction))
}

// encode stores device i's payloads and where their report id sits.
func (s *stream) encode(fleet *sim.Fleet, i int, violates bool) error {
	rep := fleet.ReportAt(i, fleet.Options().Start)
	if rep == nil {
		return fmt.Errorf("device %s is offline in the first interval", s.names[i])
	}
	s.firstID[i] = rep.Header.ReportID
	var err error
	if s.normal[i], s.idAt[i], err = encodeAt(rep); err != nil || !violates {
		return err
	}
	rep.Metrics.NetworkStats.BytesOut = proto.Count(ViolatingBytesOut)
	var at int
	s.violating[i], at, err = encodeAt(rep)
	if err == nil && at != s.idAt[i] {
		err = fmt.Errorf("report of %s: the report id moved when bytes out changed", s.names[i])
	}
	return err
}

// encodeAt encodes a report as JSON and finds its report id's digits.
func encodeAt(rep *proto.Report) ([]byte, int, error) {
	data, err := proto.Encode(rep, proto.JSON, proto.LongKeys)
	if err != nil {
		return nil, 0, err
	}
	id := []byte(strconv.FormatInt(rep.Header.ReportID, 10))
	if bytes.Count(data, id) != 1 {
		return nil, 0, fmt.Errorf("report id %s does not appear exactly once in its encoding", id)
	}
	return data, bytes.Index(data, id), nil
}

// report returns the payload of device i in interval k and its report id.
// Violators violate in even intervals and report normally in odd ones.
func (s *stream) report(i, k int) ([]byte, int64) {
	tpl := s.normal[i]
	if s.violator(i) && k%2 == 0 {
		tpl = s.violating[i]
	}
	id := s.firstID[i] + int64(k)*s.interval
	out := bytes.Clone(tpl)
	copy(out[s.idAt[i]:], strconv.AppendInt(make([]byte, 0, 20), id, 10)) // same width until the year 2286
	return out, id
}

func (s *stream) violator(i int) bool { return s.violating[i] != nil }

// violators counts the violating devices.
func (s *stream) violators() int {
	n := 0
	for i := range s.violating {
		if s.violator(i) {
			n++
		}
	}
	return n
}

// defaultStart is the simulated start of the stream: midnight UTC two days
// ago, so that report times stay in the past, within retention, and the
// same for every case run on one day.
func defaultStart(now time.Time) time.Time {
	return now.UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)
}
