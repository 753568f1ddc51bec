package broker

// Quarantine tells which things are quarantined. A quarantined client keeps
// only what it needs to be watched: it may publish its own reports and
// read its own replies, and nothing else, whatever its role. The broker
// asks on every publish and subscription, so a quarantine or a release
// takes effect at once; the caller disconnects the client (Disconnect) to
// end what it was doing when the quarantine began.
//
// Quarantined must be fast and safe for concurrent use: it is on the path
// of every message.
type Quarantine interface {
	Quarantined(thing string) bool
}

// quarantined reports whether the session's thing is quarantined now.
func (s *session) quarantined() bool {
	return s.quarantine != nil && s.quarantine.Quarantined(s.Thing)
}
