package broker

import (
	"strings"

	"github.com/vigil-iot/vigil/proto"
)

// sysRoot is the root of the broker's $SYS topics.
const sysRoot = "$SYS"

// canPublish reports whether the session may publish to topic. Only report
// topics are ever allowed: the violation topics and the reply topics are
// the broker's own.
func (s *session) canPublish(topic string) bool {
	if s.Role == RoleOperator {
		return false
	}
	t, err := proto.ParseReportTopic(topic)
	if err != nil || t.Reply != proto.NoReply {
		return false
	}
	return (s.Role == RoleFleet && !s.quarantined()) || t.Thing == s.Thing
}

// canRead reports whether the session may subscribe to filter, or receive
// a message published to it (a topic is a filter without wildcards).
func (s *session) canRead(filter string) bool {
	filter = unshare(filter)
	switch s.Role {
	case RoleDevice:
		return inReportTree(filter, s.Thing) || s.anonymous && (isViolationFilter(filter) || isAlertFilter(filter)) && !s.quarantined()
	case RoleFleet:
		return inReportTree(filter, "") && !s.quarantined()
	case RoleOperator:
		return isViolationFilter(filter) || isBelow(filter, sysRoot) || isAlertFilter(filter)
	}
	return false
}

// inReportTree reports whether filter stays below the report topics of
// thing: {root}/things/{thing}/defender/metrics/..., with root $vigil or $aws.
// An empty thing accepts any thing name, and the single-level wildcard.
func inReportTree(filter, thing string) bool {
	root, rest, _ := strings.Cut(filter, "/")
	if root != proto.RootVigil && root != proto.RootAWS {
		return false
	}
	rest, ok := strings.CutPrefix(rest, "things/")
	if !ok {
		return false
	}
	name, rest, _ := strings.Cut(rest, "/")
	switch {
	case thing != "" && name != thing:
		return false
	case thing == "" && name != "+" && proto.ValidateThingName(name) != nil:
		return false
	}
	below, ok := strings.CutPrefix(rest, "defender/metrics/")
	return ok && below != ""
}

// isViolationFilter reports whether filter stays within the topics the
// detector publishes violations to.
func isViolationFilter(filter string) bool {
	return isBelow(filter, proto.ViolationsRoot) || isBelow(filter, proto.ActiveViolationsRoot)
}

// isBelow reports whether filter is root or stays below it.
func isBelow(filter, root string) bool {
	rest, ok := strings.CutPrefix(filter, root)
	return ok && (rest == "" || rest[0] == '/')
}

// unshare returns the filter of a shared subscription ($share/{group}/{filter},
// the prefix in any case), or filter itself when it is not shared. A shared
// subscription without a group or filter becomes "", which nobody may read.
func unshare(filter string) string {
	const prefix = "$share/"
	if len(filter) < len(prefix) || !strings.EqualFold(filter[:len(prefix)], prefix) {
		return filter
	}
	group, rest, ok := strings.Cut(filter[len(prefix):], "/")
	if !ok || group == "" {
		return ""
	}
	return rest
}
