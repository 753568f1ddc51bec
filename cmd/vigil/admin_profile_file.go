package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// profileFields are the fields of a profile file: those that
// `aws iot create-security-profile --cli-input-json` takes.
var profileFields = []string{
	"securityProfileName", "securityProfileDescription", "behaviors", "alertTargets",
	"additionalMetricsToRetain", "additionalMetricsToRetainV2", "metricsExportConfig", "tags",
}

// readOnlyProfileFields are in the answer of `vigil profile get` but are not
// the user's to set; a file saved from that answer applies as it is, without
// them.
var readOnlyProfileFields = []string{"securityProfileArn", "version", "creationDate", "lastModifiedDate"}

// profileDoc is a security profile read from a JSON or YAML file.
type profileDoc struct {
	label string // the file's name, for messages
	name  string // securityProfileName, "" if the file has none
	// fields holds the file's fields but the name and the read-only ones,
	// as JSON; fields set to null are left out.
	fields map[string]json.RawMessage
}

// readProfileDoc reads path ("-": standard input). YAML is turned into
// JSON, so the AWS field names work in both. An unknown field is an error:
// a misspelt "behaviors" would otherwise delete every behavior on update.
func readProfileDoc(cmd *cobra.Command, path string) (*profileDoc, error) {
	label := path
	if path == "-" {
		label = "standard input"
	}
	data, err := readInput(cmd, path)
	if err != nil {
		return nil, err
	}
	if !json.Valid(data) { // JSON is kept as it is: exact numbers and strings
		if data, err = yaml.YAMLToJSON(data); err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil || all == nil {
		return nil, fmt.Errorf("%s: want a security profile, a JSON or YAML object", label)
	}
	p := &profileDoc{label: label, fields: map[string]json.RawMessage{}}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		switch v := all[k]; {
		case slices.Contains(readOnlyProfileFields, k), string(bytes.TrimSpace(v)) == "null":
		case !slices.Contains(profileFields, k):
			return nil, fmt.Errorf("%s: unknown field %q (a profile has %s)", label, k, strings.Join(profileFields, ", "))
		default:
			p.fields[k] = v
		}
	}
	if raw, ok := p.fields["securityProfileName"]; ok {
		if err := json.Unmarshal(raw, &p.name); err != nil {
			return nil, fmt.Errorf("%s: securityProfileName: want a string", label)
		}
		delete(p.fields, "securityProfileName")
	}
	return p, nil
}

// createBody is the body of CreateSecurityProfile: the file as it is (the
// name goes in the path).
func (p *profileDoc) createBody() map[string]json.RawMessage { return p.fields }

// updateBody is the body of an UpdateSecurityProfile that makes the profile
// exactly the file: a field the file leaves out is cleared, by its delete
// flag or by an empty value. Tags are set only on creation.
func (p *profileDoc) updateBody() map[string]any {
	body := map[string]any{}
	for k, v := range p.fields {
		body[k] = v
	}
	delete(body, "tags")
	absent := func(k string) bool { _, ok := body[k]; return !ok }
	if absent("securityProfileDescription") {
		body["securityProfileDescription"] = ""
	}
	for field, flag := range map[string]string{
		"behaviors":           "deleteBehaviors",
		"alertTargets":        "deleteAlertTargets",
		"metricsExportConfig": "deleteMetricsExportConfig",
	} {
		if absent(field) {
			body[flag] = true
		}
	}
	// One delete flag covers both forms of the metrics to retain, and may not
	// come with either; the form the file does not use is emptied.
	noV1, noV2 := absent("additionalMetricsToRetain"), absent("additionalMetricsToRetainV2")
	switch {
	case noV1 && noV2:
		body["deleteAdditionalMetricsToRetain"] = true
	case noV1:
		body["additionalMetricsToRetain"] = []string{}
	case noV2:
		body["additionalMetricsToRetainV2"] = []any{}
	}
	return body
}

// behaviors returns the file's behaviors, [] if it has none.
func (p *profileDoc) behaviors() (json.RawMessage, int, error) {
	raw, ok := p.fields["behaviors"]
	if !ok {
		return json.RawMessage("[]"), 0, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, 0, fmt.Errorf("%s: behaviors: want a list", p.label)
	}
	return raw, len(list), nil
}
