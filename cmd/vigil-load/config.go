package main

import (
	"errors"
	"time"
)

// config is one case of the benchmark: where the reports go, how they are
// counted, and what is measured.
type config struct {
	Case            string
	Broker          string
	Username        string
	Password        string
	Metrics         string
	CountSubscriber bool
	EventsBroker    string
	EventsUsername  string
	EventsPassword  string
	EventsFilter    string
	Processes       []process

	Devices   int
	Violators float64
	Seed      uint64
	Start     time.Time

	Duration       time.Duration
	Intervals      int
	Sample         time.Duration
	Drain          time.Duration
	Ready          time.Duration
	Rate           float64
	Connections    int
	Window         int
	Workers        int
	MaxOutstanding int64
}

// process is a process whose CPU and memory a case measures.
type process struct {
	Name string
	PID  int
}

func (c config) validate() error {
	switch {
	case c.Case == "" || c.Broker == "":
		return errors.New("--case and --broker are required")
	case (c.Metrics == "") == !c.CountSubscriber:
		return errors.New("give one of --metrics and --count-subscriber")
	case c.Devices <= 0 || c.Violators < 0 || c.Violators > 1:
		return errors.New("--devices must be positive and --violators within 0..1")
	case c.Duration <= 0 || c.Drain < 0 || c.Rate < 0:
		return errors.New("--duration must be positive, --drain and --rate not negative")
	case c.Intervals < 0 || c.Sample < 0:
		return errors.New("--intervals and --sample must not be negative")
	case c.Connections <= 0 || c.Window <= 0 || c.Workers <= 0 || c.MaxOutstanding <= 0:
		return errors.New("--connections, --window, --workers and --max-outstanding must be positive")
	}
	return nil
}

// eventsBroker is the broker of the violation events, or "" for none.
func (c config) eventsBroker() string {
	switch c.EventsBroker {
	case "none":
		return ""
	case "":
		return c.Broker
	}
	return c.EventsBroker
}
