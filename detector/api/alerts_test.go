package api_test

import "testing"

// TestProfileAlertTargets sets, replaces and refuses alert targets through
// the profile calls; a refusal names the field at fault.
func TestProfileAlertTargets(t *testing.T) {
	e := newEnv(t)
	e.run(t, []step{
		{name: "webhook without secret", method: "POST", path: "/api/security-profiles/hooked",
			body:   `{"behaviors":[],"alertTargets":{"WEBHOOK":{"url":"https://hooks.example.com/vigil"}}}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"alertTargets.WEBHOOK.secret"}},
		{name: "mqtt topic under $", method: "POST", path: "/api/security-profiles/hooked",
			body:   `{"behaviors":[],"alertTargets":{"MQTT":{"topic":"$vigil/alerts"}}}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"alertTargets.MQTT.topic", "must not start with $"}},
		{name: "both targets", method: "POST", path: "/api/security-profiles/hooked",
			body: `{"behaviors":[],"alertTargets":{"MQTT":{"topic":"alerts/doors"},
				"WEBHOOK":{"url":"https://hooks.example.com/vigil","secret":"0123456789abcdef"}}}`,
			status: 200},
		{name: "described with its targets", method: "GET", path: "/api/security-profiles/hooked", status: 200,
			contains: []string{`"MQTT":{"topic":"alerts/doors"}`, `"url":"https://hooks.example.com/vigil"`}},
		{name: "update to a bad URL", method: "PATCH", path: "/api/security-profiles/hooked",
			body:   `{"alertTargets":{"WEBHOOK":{"url":"ftp://hooks.example.com","secret":"0123456789abcdef"}}}`,
			status: 400, errType: "InvalidRequestException", contains: []string{"alertTargets.WEBHOOK.url"}},
	})
}
