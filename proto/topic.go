package proto

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The roots of report topics: Vigil's own, and AWS's, so that devices running
// AWS's Device Defender agents work unchanged.
const (
	RootVigil = "$vigil"
	RootAWS   = "$aws"
)

// MaxThingNameBytes is the longest thing name, in bytes of UTF-8.
const MaxThingNameBytes = 128

// ReplyKind tells a report topic from its two reply topics.
type ReplyKind uint8

// The kinds of report topic.
const (
	// NoReply is the topic a report is published to.
	NoReply ReplyKind = iota
	// AcceptedTopic carries the replies to accepted reports.
	AcceptedTopic
	// RejectedTopic carries the replies to rejected reports.
	RejectedTopic
)

// ReportTopic is a parsed report topic:
// {root}/things/{thing}/defender/metrics/{format}[/accepted|/rejected].
type ReportTopic struct {
	Root   string
	Thing  string
	Format Format
	Reply  ReplyKind
}

// String builds the topic.
func (t ReportTopic) String() string {
	// One concatenation each, so that the topic takes one allocation.
	switch t.Reply {
	case AcceptedTopic:
		return t.Root + "/things/" + t.Thing + "/defender/metrics/" + t.Format.String() + "/accepted"
	case RejectedTopic:
		return t.Root + "/things/" + t.Thing + "/defender/metrics/" + t.Format.String() + "/rejected"
	}
	return t.Root + "/things/" + t.Thing + "/defender/metrics/" + t.Format.String()
}

// ReplyTopic returns the reply topic for a report published to t.
func (t ReportTopic) ReplyTopic(status Status) ReportTopic {
	t.Reply = AcceptedTopic
	if status == Rejected {
		t.Reply = RejectedTopic
	}
	return t
}

// ReportFilter returns the MQTT filter matching every report topic (not the
// replies) under root.
func ReportFilter(root string) string {
	return root + "/things/+/defender/metrics/+"
}

// ThingReplyFilter returns the MQTT filter matching both replies to a
// thing's reports in one format.
func ThingReplyFilter(root, thing string, format Format) string {
	return root + "/things/" + thing + "/defender/metrics/" + format.String() + "/+"
}

// ParseReportTopic reads a report or reply topic. A topic of another shape
// is an error; a bad thing name is an *Error with code InvalidThingName.
func ParseReportTopic(topic string) (ReportTopic, error) {
	// Split into at most 8 levels without allocating: this runs for every
	// report, twice.
	var levels [8]string
	parts := levels[:0]
	for rest := topic; len(parts) < len(levels); {
		level, after, more := strings.Cut(rest, "/")
		parts = append(parts, level)
		if !more {
			break
		}
		rest = after
		if len(parts) == len(levels) {
			parts = append(parts[:0:0], "") // more levels than any report topic has
			break
		}
	}
	if len(parts) < 6 || len(parts) > 7 || parts[1] != "things" || parts[3] != "defender" || parts[4] != "metrics" {
		return ReportTopic{}, fmt.Errorf("topic %q is not {root}/things/{thing}/defender/metrics/{format}[/accepted|/rejected]", topic)
	}
	t := ReportTopic{Root: parts[0], Thing: parts[2]}
	if t.Root != RootVigil && t.Root != RootAWS {
		return ReportTopic{}, fmt.Errorf("topic %q: root %q is neither %s nor %s", topic, t.Root, RootVigil, RootAWS)
	}
	var err error
	if t.Format, err = ParseFormat(parts[5]); err != nil {
		return ReportTopic{}, fmt.Errorf("topic %q: %w", topic, err)
	}
	if len(parts) == 7 {
		switch parts[6] {
		case "accepted":
			t.Reply = AcceptedTopic
		case "rejected":
			t.Reply = RejectedTopic
		default:
			return ReportTopic{}, fmt.Errorf("topic %q: last level %q is neither accepted nor rejected", topic, parts[6])
		}
	}
	if err := ValidateThingName(t.Thing); err != nil {
		return t, err
	}
	return t, nil
}

// ValidateThingName checks a thing name as it appears in a topic: 1 to 128
// bytes of valid UTF-8, without control characters or MQTT wildcards. The
// error is an *Error with code InvalidThingName.
func ValidateThingName(name string) error {
	switch {
	case name == "":
		return errorf(InvalidThingName, "thingName", "must not be empty")
	case len(name) > MaxThingNameBytes:
		return errorf(InvalidThingName, "thingName", "is %d bytes long, over the limit of %d", len(name), MaxThingNameBytes)
	case !utf8.ValidString(name):
		return errorf(InvalidThingName, "thingName", "is not valid UTF-8")
	case hasControl(name):
		return errorf(InvalidThingName, "thingName", "contains control characters")
	case strings.ContainsAny(name, "+#/"):
		return errorf(InvalidThingName, "thingName", "contains an MQTT topic character (+, # or /)")
	}
	return nil
}

// The roots of the topics the detector publishes.
const (
	ViolationsRoot       = "$vigil/violations"
	ActiveViolationsRoot = "$vigil/active-violations"
)

// ViolationTopic is where violation events of a thing under a profile go:
// $vigil/violations/{profile}/{thing}.
func ViolationTopic(profile, thing string) string {
	return ViolationsRoot + "/" + profile + "/" + thing
}

// ActiveViolationTopic is where the retained active violation of one
// behavior lives: $vigil/active-violations/{profile}/{thing}/{behavior}.
func ActiveViolationTopic(profile, thing, behavior string) string {
	return ActiveViolationsRoot + "/" + profile + "/" + thing + "/" + behavior
}

// ParseViolationTopic reads a violation event topic into its profile and
// thing names.
func ParseViolationTopic(topic string) (profile, thing string, err error) {
	rest, ok := strings.CutPrefix(topic, ViolationsRoot+"/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", fmt.Errorf("topic %q is not %s/{profile}/{thing}", topic, ViolationsRoot)
	}
	return parts[0], parts[1], nil
}

// ParseActiveViolationTopic reads an active violation topic into its
// profile, thing and behavior names.
func ParseActiveViolationTopic(topic string) (profile, thing, behavior string, err error) {
	rest, ok := strings.CutPrefix(topic, ActiveViolationsRoot+"/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("topic %q is not %s/{profile}/{thing}/{behavior}", topic, ActiveViolationsRoot)
	}
	return parts[0], parts[1], parts[2], nil
}
