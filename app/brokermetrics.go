package app

import (
	"github.com/vigil-iot/vigil/broker"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
)

// brokerSource gives the detector what the embedded broker counted of the
// devices, and tells the broker which dimensions to count.
type brokerSource struct {
	b *broker.Broker
}

var _ service.BrokerSource = brokerSource{}

// brokerSource returns the detector's source of broker-side metrics: the
// embedded broker, or nil in sidecar mode, where they are absent.
func (a *App) brokerSource() service.BrokerSource {
	if a.broker == nil {
		return nil
	}
	return brokerSource{a.broker}
}

// EachThing calls fn with the counts of every device; fleet and operator
// identities are not things.
func (s brokerSource) EachThing(fn func(service.BrokerCounts)) {
	s.b.EachStats(func(thing string, st broker.ThingStats) {
		if st.Role != broker.RoleDevice {
			return
		}
		fn(brokerCounts(thing, st))
	})
}

// EachWindow is EachThing, restarting the message sizes of every thing.
func (s brokerSource) EachWindow(fn func(service.BrokerCounts)) {
	s.b.EachStatsRestartingSizes(func(thing string, st broker.ThingStats) {
		if st.Role != broker.RoleDevice {
			return
		}
		fn(brokerCounts(thing, st))
	})
}

func brokerCounts(thing string, st broker.ThingStats) service.BrokerCounts {
	c := service.BrokerCounts{Thing: thing, ConnectionAttempts: st.ConnectionAttempts, AuthorizationFailures: st.AuthorizationFailures,
		Disconnects: st.Disconnects, MessagesSent: st.MessagesSent, BytesSent: st.BytesSent, MessagesReceived: st.MessagesReceived,
		LargestMessage: st.LargestMessage, SmallestMessage: st.SmallestMessage}
	for _, k := range st.Connections {
		c.Connections = append(c.Connections, service.BrokerConnection{Addr: k.Addr, Start: k.Start, End: k.End})
	}
	for _, d := range st.Dimensions {
		c.Dimensions = append(c.Dimensions, service.DimensionCounts{Name: d.Name, Generation: d.Generation, MessagesSent: d.MessagesSent,
			BytesSent: d.BytesSent, MessagesReceived: d.MessagesReceived, AuthorizationFailures: d.AuthorizationFailures})
	}
	return c
}

// CountDimensions gives the broker the dimensions' topic filters.
func (s brokerSource) CountDimensions(dims []registry.Dimension) error {
	out := make([]broker.Dimension, len(dims))
	for i, d := range dims {
		out[i] = broker.Dimension{Name: d.Name, Filters: d.StringValues}
	}
	return s.b.SetDimensions(out)
}
