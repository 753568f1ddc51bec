package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newProfileCmd() *cobra.Command {
	return parentCmd("profile", "Manage security profiles",
		"A security profile is a set of behaviors, the normal conduct of devices, attached to targets:\n"+
			"all/things, all/registered-things, all/unregistered-things or thinggroup/NAME. Profiles are\n"+
			"files in the AWS IoT Device Defender shape, JSON or YAML, applied with `vigil profile apply`.",
		"  vigil profile apply -f cameras.yaml --target thinggroup/cameras\n  vigil profile get cameras > cameras.json",
		newProfileApplyCmd(), newProfileListCmd(), newProfileGetCmd(), newProfileRemoveCmd(),
		newProfileValidateCmd(), newProfileAttachCmd(), newProfileDetachCmd(), newProfileTargetsCmd())
}

const profileApplyLong = `apply creates the security profile a file describes, or updates it when it exists so that it becomes
exactly the file: behaviors, alert targets, metrics to retain and export settings that the file leaves
out are removed. The file is what ` + "`aws iot create-security-profile --cli-input-json`" + ` takes, as JSON or
YAML: securityProfileName, securityProfileDescription, behaviors, alertTargets,
additionalMetricsToRetainV2, metricsExportConfig and tags (tags are set only when the profile is
created). The output of ` + "`vigil profile get`" + ` applies as it is. --target attaches the profile too.`

const profileApplyExample = `  vigil profile apply -f cameras.yaml
  vigil profile apply -f cameras.json --target thinggroup/cameras --target all/unregistered-things
  vigil profile get cameras | jq '.behaviors[0].criteria.value.count = 20' | vigil profile apply -f -

  # cameras.yaml
  securityProfileName: cameras
  behaviors:
    - name: outbound-bytes
      metric: aws:all-bytes-out
      criteria:
        comparisonOperator: less-than-equals
        value: {count: 1000000}
        consecutiveDatapointsToAlarm: 2
        consecutiveDatapointsToClear: 2
  alertTargets:
    MQTT: {topic: alerts/cameras}`

func newProfileApplyCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "apply -f FILE",
		short:   "Create or update a security profile from a file",
		long:    profileApplyLong,
		example: profileApplyExample,
		args:    cobra.NoArgs,
		flags: func(f *pflag.FlagSet) {
			f.StringP("file", "f", "", "profile file, JSON or YAML; - reads standard input (required)")
			f.StringArray("target", nil, "attach to this target: all/things, thinggroup/NAME or an ARN (repeatable)")
		},
		run: func(s *session, _ []string) error {
			f := s.cmd.Flags()
			if err := requireFlags(f, "file"); err != nil {
				return err
			}
			targets, _ := f.GetStringArray("target")
			for _, t := range targets {
				if err := checkTarget(t); err != nil {
					return err
				}
			}
			p, err := readProfileDoc(s.cmd, mustString(f, "file"))
			if err != nil {
				return err
			}
			if p.name == "" {
				return fmt.Errorf("%s: securityProfileName is missing", p.label)
			}
			return s.applyProfile(p, targets)
		},
	})
}

// applyProfile creates the profile or, when it exists, updates it at the
// version it has now, then attaches it to targets.
func (s *session) applyProfile(p *profileDoc, targets []string) error {
	path := apiPath("security-profiles", p.name)
	answer, err := s.api.post(s.ctx(), path, nil, p.createBody())
	verb, version := "created", versionOf(answer, 1)
	if alreadyExists(err) {
		verb = "updated"
		answer, version, err = s.updateProfile(path, p)
	}
	if err != nil {
		return err
	}
	if s.json {
		if err := s.printJSON(answer); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(s.out, "%s %s (version %d)\n", verb, p.name, version)
	}
	for _, t := range targets {
		if _, err := s.attach(p.name, t); err != nil {
			return err
		}
		if !s.json {
			fmt.Fprintf(s.out, "attached %s to %s\n", p.name, t)
		}
	}
	return nil
}

// updateProfile patches the profile at path into the file's content,
// expecting the version it has now so that a concurrent change is not
// overwritten.
func (s *session) updateProfile(path string, p *profileDoc) ([]byte, int64, error) {
	current, err := s.api.get(s.ctx(), path, nil)
	if err != nil {
		return nil, 0, err
	}
	q := url.Values{}
	version := versionOf(current, 0)
	if version > 0 {
		q.Set("expectedVersion", strconv.FormatInt(version, 10))
	}
	answer, err := s.api.patch(s.ctx(), path, q, p.updateBody())
	if err != nil {
		return nil, 0, err
	}
	return answer, versionOf(answer, version+1), nil
}

// versionOf reads the "version" of a profile in an answer, or returns def.
func versionOf(answer []byte, def int64) int64 {
	var v struct {
		Version *int64 `json:"version"`
	}
	if json.Unmarshal(answer, &v) != nil || v.Version == nil {
		return def
	}
	return *v.Version
}

// alreadyExists tells whether err says that a resource exists: a 409
// ResourceAlreadyExistsException, or a bare 409 from a server that names
// no exception.
func alreadyExists(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusConflict &&
		(ae.Code == "ResourceAlreadyExistsException" || ae.Code == http.StatusText(http.StatusConflict))
}

func newProfileListCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "ls",
		short:   "List security profiles",
		example: "  vigil profile ls",
		args:    cobra.NoArgs,
		run: func(s *session, _ []string) error {
			l, err := s.api.listAll(s.ctx(), apiPath("security-profiles"), nil, "securityProfileIdentifiers")
			if err != nil || s.json {
				return s.answer(l.json(), err)
			}
			profiles, err := decodeItems(l.items)
			if err != nil {
				return err
			}
			t := newTable("NAME", "ARN").omitEmpty("ARN")
			for _, o := range profiles {
				t.row(o.text("name", "securityProfileName"), o.text("arn", "securityProfileArn"))
			}
			return t.write(s)
		},
	})
}

func newProfileGetCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "get NAME",
		short: "Show a security profile (as AWS JSON, which `vigil profile apply` takes back)",
		example: "  vigil profile get cameras\n  vigil profile get cameras -o table\n" +
			"  vigil profile get cameras > cameras.json   # edit, then: vigil profile apply -f cameras.json",
		args:   cobra.ExactArgs(1),
		output: "json",
		run: func(s *session, args []string) error {
			answer, err := s.api.get(s.ctx(), apiPath("security-profiles", args[0]), nil)
			if err != nil || s.json {
				return s.answer(answer, err)
			}
			o, err := decodeObject(answer)
			if err != nil {
				return err
			}
			return s.profileTables(o)
		},
	})
}

// profileTables shows a profile as a summary line and a table of its
// behaviors.
func (s *session) profileTables(o apiObject) error {
	t := newTable("NAME", "VERSION", "DESCRIPTION", "MODIFIED").omitEmpty("DESCRIPTION", "MODIFIED")
	t.row(o.text("securityProfileName"), o.text("version"), o.text("securityProfileDescription"), o.time("lastModifiedDate"))
	if err := t.write(s); err != nil {
		return err
	}
	fmt.Fprintln(s.out)
	behaviors, _ := o.get("behaviors").([]any)
	b := newTable("BEHAVIOR", "METRIC", "CRITERIA", "ALARM", "CLEAR", "SUPPRESSED").omitEmpty("ALARM", "CLEAR", "SUPPRESSED")
	for _, v := range behaviors {
		bo, _ := asMap(v)
		c := bo.obj("criteria")
		b.row(bo.text("name"), bo.text("metric"), criteriaText(c),
			c.text("consecutiveDatapointsToAlarm"), c.text("consecutiveDatapointsToClear"), bo.text("suppressAlerts"))
	}
	return b.write(s)
}

// criteriaText summarises a behavior's criteria: "less-than-equals 4096
// for 300s", "less-than p90 for 300s", "ml confidence HIGH".
func criteriaText(c apiObject) string {
	var text string
	switch {
	case c.get("mlDetectionConfig") != nil:
		text = "ml confidence " + c.text("mlDetectionConfig.confidenceLevel")
	case c.get("statisticalThreshold") != nil:
		text = c.text("comparisonOperator") + " " + c.text("statisticalThreshold.statistic")
	default:
		text = strings.TrimSpace(c.text("comparisonOperator") + " " + formatMetricValue(c.get("value")))
	}
	if d := c.text("durationSeconds"); d != "" {
		text += " for " + d + "s"
	}
	return text
}

func newProfileRemoveCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "rm NAME",
		short:   "Delete a security profile",
		long:    "rm deletes a security profile; its active violations are invalidated.",
		example: "  vigil profile rm cameras\n  vigil profile rm cameras --expected-version 3",
		args:    cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.Int64("expected-version", 0, "delete only if the profile is at this version (0: whatever its version)")
		},
		run: func(s *session, args []string) error {
			q := url.Values{}
			if v, _ := s.cmd.Flags().GetInt64("expected-version"); v > 0 {
				q.Set("expectedVersion", strconv.FormatInt(v, 10))
			} else if v < 0 {
				return usageErrorf("--expected-version must be positive")
			}
			answer, err := s.api.delete(s.ctx(), apiPath("security-profiles", args[0]), q)
			if err != nil {
				return err
			}
			return s.done(answer, "deleted profile %s", args[0])
		},
	})
}

func newProfileValidateCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "validate -f FILE",
		short: "Check the behaviors of a profile file",
		long: "validate asks the server to check the behaviors of a profile file (JSON or YAML, as for apply)\n" +
			"and prints every problem it finds; the exit code is 1 when there is any.",
		example: "  vigil profile validate -f cameras.yaml\n  vigil profile get cameras | vigil profile validate -f -",
		args:    cobra.NoArgs,
		flags: func(f *pflag.FlagSet) {
			f.StringP("file", "f", "", "profile file, JSON or YAML; - reads standard input (required)")
		},
		run: func(s *session, _ []string) error {
			if err := requireFlags(s.cmd.Flags(), "file"); err != nil {
				return err
			}
			p, err := readProfileDoc(s.cmd, mustString(s.cmd.Flags(), "file"))
			if err != nil {
				return err
			}
			return s.validateProfile(p)
		},
	})
}

// validateProfile has the server check a file's behaviors; the problems
// are the output, and make the command fail.
func (s *session) validateProfile(p *profileDoc) error {
	behaviors, n, err := p.behaviors()
	if err != nil {
		return err
	}
	body := map[string]json.RawMessage{"behaviors": behaviors}
	answer, err := s.api.post(s.ctx(), "/api/security-profile-behaviors/validate", nil, body)
	if err != nil {
		return err
	}
	var result struct {
		Valid  bool `json:"valid"`
		Errors []struct {
			Message string `json:"errorMessage"`
		} `json:"validationErrors"`
	}
	if err := json.Unmarshal(answer, &result); err != nil {
		return fmt.Errorf("the server's answer is not a validation result: %w", err)
	}
	switch {
	case s.json:
		err = s.printJSON(answer)
	case result.Valid:
		_, err = fmt.Fprintf(s.out, "%s: valid (%d %s)\n", p.label, n, plural(n, "behavior", "behaviors"))
	default:
		for _, e := range result.Errors {
			fmt.Fprintln(s.out, e.Message)
		}
	}
	if err != nil || result.Valid {
		return err
	}
	n = max(len(result.Errors), 1)
	return fmt.Errorf("%s is not valid: %d %s", p.label, n, plural(n, "problem", "problems"))
}

func newProfileAttachCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "attach NAME TARGET",
		short: "Attach a security profile to a target",
		long: "attach makes a profile apply to a target: all/things, all/registered-things,\n" +
			"all/unregistered-things, thinggroup/NAME, or an AWS ARN that ends in one of these.",
		example: "  vigil profile attach cameras thinggroup/cameras\n  vigil profile attach baseline all/things",
		args:    cobra.ExactArgs(2),
		run: func(s *session, args []string) error {
			if err := checkTarget(args[1]); err != nil {
				return err
			}
			answer, err := s.attach(args[0], args[1])
			if err != nil {
				return err
			}
			return s.done(answer, "attached %s to %s", args[0], args[1])
		},
	})
}

// attach attaches a profile to a target.
func (s *session) attach(profile, target string) ([]byte, error) {
	q := url.Values{"securityProfileTargetArn": {target}}
	return s.api.put(s.ctx(), apiPath("security-profiles", profile, "targets"), q, nil)
}

func newProfileDetachCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "detach NAME TARGET",
		short:   "Detach a security profile from a target",
		example: "  vigil profile detach cameras thinggroup/cameras",
		args:    cobra.ExactArgs(2),
		run: func(s *session, args []string) error {
			if err := checkTarget(args[1]); err != nil {
				return err
			}
			q := url.Values{"securityProfileTargetArn": {args[1]}}
			answer, err := s.api.delete(s.ctx(), apiPath("security-profiles", args[0], "targets"), q)
			if err != nil {
				return err
			}
			return s.done(answer, "detached %s from %s", args[0], args[1])
		},
	})
}

func newProfileTargetsCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "targets NAME",
		short:   "List the targets of a security profile",
		example: "  vigil profile targets cameras",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			path := apiPath("security-profiles", args[0], "targets")
			l, err := s.api.listAll(s.ctx(), path, nil, "securityProfileTargets")
			if err != nil || s.json {
				return s.answer(l.json(), err)
			}
			targets, err := decodeItems(l.items)
			if err != nil {
				return err
			}
			t := newTable("TARGET")
			for _, o := range targets {
				t.row(o.text("arn", "name"))
			}
			return t.write(s)
		},
	})
}

// checkTarget accepts the targets the API does, so that a typo is a usage
// error before anything changes.
func checkTarget(target string) error {
	short := target
	if strings.HasPrefix(target, "arn:") {
		if parts := strings.SplitN(target, ":", 6); len(parts) == 6 {
			short = parts[5]
		}
	}
	switch short {
	case "all/things", "all/registered-things", "all/unregistered-things":
		return nil
	}
	if g, ok := strings.CutPrefix(short, "thinggroup/"); ok && g != "" && !strings.Contains(g, "/") {
		return nil
	}
	return usageErrorf("target %q: want all/things, all/registered-things, all/unregistered-things, thinggroup/NAME or an ARN ending in one of them", target)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
