package registry

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/vigil-iot/vigil/detector"
)

// The alert target types, the keys of Profile.AlertTargets.
const (
	// AlertMQTT publishes the events to one more MQTT topic.
	AlertMQTT = "MQTT"
	// AlertWebhook posts the events, signed, to an HTTP(S) URL.
	AlertWebhook = "WEBHOOK"
	// AlertSNS is AWS's target, kept so that AWS profiles round-trip; Vigil
	// sends nothing to it.
	AlertSNS = "SNS"
)

// Limits of webhook targets.
const (
	MaxWebhookURLLength = 2048
	MinWebhookSecret    = 16
	MaxWebhookSecret    = 256
)

// checkAlertTopic checks an alert target's MQTT topic: one a client may
// publish to, outside the $-topics that brokers and Vigil reserve.
func checkAlertTopic(topic string) error {
	if err := checkPublishTopic(topic); err != nil {
		return err
	}
	switch {
	case !utf8.ValidString(topic):
		return fmt.Errorf("must be valid UTF-8")
	case strings.HasPrefix(topic, "$"):
		return fmt.Errorf("must not start with $ (reserved for the broker and for Vigil's own topics): %q", topic)
	}
	return nil
}

// checkWebhook checks a webhook target: an absolute http or https URL and
// a secret to sign the deliveries with.
func checkWebhook(field string, t AlertTarget) []detector.Problem {
	var problems []detector.Problem
	bad := func(sub, format string, args ...any) {
		problems = append(problems, detector.Problem{Field: field + sub, Message: fmt.Sprintf(format, args...)})
	}
	u, err := url.Parse(t.URL)
	switch {
	case len(t.URL) > MaxWebhookURLLength:
		bad(".url", "at most %d bytes", MaxWebhookURLLength)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
		bad(".url", "must be an http:// or https:// URL with a host, got %q", t.URL)
	case u.Fragment != "":
		bad(".url", "must not have a #fragment, which is never sent")
	}
	switch n := len(t.Secret); {
	case n == 0:
		bad(".secret", "required: every delivery is signed with it (X-Vigil-Signature)")
	case n < MinWebhookSecret || n > MaxWebhookSecret:
		bad(".secret", "must be %d to %d bytes, got %d", MinWebhookSecret, MaxWebhookSecret, n)
	}
	return problems
}
