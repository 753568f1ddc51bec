package registry_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
)

// TestValidateAlertTargets names the field at fault for each bad alert
// target, and accepts the good ones.
func TestValidateAlertTargets(t *testing.T) {
	e := newEnv(t)
	const secret = "sixteen-byte-key"
	tests := []struct {
		name    string
		typ     string
		target  registry.AlertTarget
		field   string // "" when valid
		message string
	}{
		{"mqtt topic", "MQTT", registry.AlertTarget{Topic: "alerts/scanners"}, "", ""},
		{"mqtt wildcard", "MQTT", registry.AlertTarget{Topic: "alerts/+"}, "alertTargets.MQTT.topic", "wildcards"},
		{"mqtt empty", "MQTT", registry.AlertTarget{}, "alertTargets.MQTT.topic", "1 to 512 bytes"},
		{"mqtt $ topic", "MQTT", registry.AlertTarget{Topic: "$vigil/violations/p/t"}, "alertTargets.MQTT.topic", "must not start with $"},
		{"mqtt bad utf-8", "MQTT", registry.AlertTarget{Topic: "alerts/\xff"}, "alertTargets.MQTT.topic", "UTF-8"},
		{"webhook https", "WEBHOOK", registry.AlertTarget{URL: "https://hooks.example.com/vigil?team=sec", Secret: secret}, "", ""},
		{"webhook http with port", "WEBHOOK", registry.AlertTarget{URL: "http://10.0.0.5:9000/hook", Secret: secret}, "", ""},
		{"webhook ftp", "WEBHOOK", registry.AlertTarget{URL: "ftp://example.com/x", Secret: secret}, "alertTargets.WEBHOOK.url", "http:// or https://"},
		{"webhook relative", "WEBHOOK", registry.AlertTarget{URL: "/hook", Secret: secret}, "alertTargets.WEBHOOK.url", "with a host"},
		{"webhook no host", "WEBHOOK", registry.AlertTarget{URL: "https://:443/hook", Secret: secret}, "alertTargets.WEBHOOK.url", "with a host"},
		{"webhook fragment", "WEBHOOK", registry.AlertTarget{URL: "https://example.com/hook#x", Secret: secret}, "alertTargets.WEBHOOK.url", "fragment"},
		{"webhook long url", "WEBHOOK", registry.AlertTarget{URL: "https://example.com/" + strings.Repeat("a", 2048), Secret: secret}, "alertTargets.WEBHOOK.url", "at most 2048"},
		{"webhook no secret", "WEBHOOK", registry.AlertTarget{URL: "https://example.com/hook"}, "alertTargets.WEBHOOK.secret", "required"},
		{"webhook short secret", "WEBHOOK", registry.AlertTarget{URL: "https://example.com/hook", Secret: "short"}, "alertTargets.WEBHOOK.secret", "16 to 256 bytes, got 5"},
		{"webhook long secret", "WEBHOOK", registry.AlertTarget{URL: "https://example.com/hook", Secret: strings.Repeat("s", 257)}, "alertTargets.WEBHOOK.secret", "16 to 256"},
		{"sns", "SNS", registry.AlertTarget{AlertTargetArn: "arn:aws:sns:eu-west-1:1:x", RoleArn: "arn:aws:iam::1:role/r"}, "", ""},
		{"lowercase type", "webhook", registry.AlertTarget{URL: "https://example.com/hook", Secret: secret}, "alertTargets.webhook", "unknown alert target type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := registry.Profile{Name: "p", AlertTargets: map[string]registry.AlertTarget{tt.typ: tt.target}}
			problems := e.reg.ValidateProfile(p)
			if tt.field == "" {
				if len(problems) != 0 {
					t.Fatalf("valid target refused: %v", problems)
				}
				return
			}
			if len(problems) != 1 || problems[0].Field != tt.field || !strings.Contains(problems[0].Message, tt.message) {
				t.Fatalf("problems %v, want one on %s saying %q", problems, tt.field, tt.message)
			}
		})
	}
}

// TestValidateWebhookListsEveryProblem reports the URL and the secret
// together, so one round trip fixes both.
func TestValidateWebhookListsEveryProblem(t *testing.T) {
	e := newEnv(t)
	problems := e.reg.ValidateProfile(registry.Profile{Name: "p",
		AlertTargets: map[string]registry.AlertTarget{"WEBHOOK": {URL: "mailto:x@example.com"}}})
	if len(problems) != 2 || problems[0].Field != "alertTargets.WEBHOOK.url" || problems[1].Field != "alertTargets.WEBHOOK.secret" {
		t.Fatalf("problems %v, want the url and the secret", problems)
	}
}

// FuzzValidateAlertTargets checks that whatever alert targets are accepted
// can be used as they are: a webhook URL that is http or https with a host,
// a secret to sign with, and a topic without wildcards outside the $ topics.
func FuzzValidateAlertTargets(f *testing.F) {
	for _, seed := range [][3]string{
		{"https://example.com/hook", "sixteen-byte-key", "alerts/a"},
		{"http://[::1]:8080/x?y=z", "s", "$SYS/x"},
		{"https://user:pw@host/p#frag", "", "a/+/b"},
		{"//host/path", "0123456789abcdef", "\xff"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	db, err := store.Open(f.TempDir(), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	reg, err := registry.Load(db)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rawURL, secret, topic string) {
		p := registry.Profile{Name: "p", AlertTargets: map[string]registry.AlertTarget{
			"WEBHOOK": {URL: rawURL, Secret: secret}, "MQTT": {Topic: topic}}}
		bad := map[string]bool{}
		for _, pr := range reg.ValidateProfile(p) {
			bad[pr.Field] = true
		}
		if !bad["alertTargets.WEBHOOK.url"] {
			u, err := url.Parse(rawURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				t.Errorf("accepted webhook URL %q", rawURL)
			}
		}
		if !bad["alertTargets.WEBHOOK.secret"] && len(secret) < registry.MinWebhookSecret {
			t.Errorf("accepted secret of %d bytes", len(secret))
		}
		if !bad["alertTargets.MQTT.topic"] && (topic == "" || strings.ContainsAny(topic, "+#\x00") || topic[0] == '$') {
			t.Errorf("accepted topic %q", topic)
		}
	})
}
