package main

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

func newMitigationCmd() *cobra.Command {
	return parentCmd("mitigation", "Name the mitigations of a profile's behaviors, and list the actions taken",
		"A profile's behaviors may name mitigation actions, taken once per violation when the behavior goes in\n"+
			"alarm: quarantineParams {thingGroupName, durationSeconds} (disconnect the thing, put it in a group, let it\n"+
			"publish only its reports) and addThingsToThingGroupParams {thingGroupNames}. Every action is recorded.",
		"  vigil mitigation set cameras -f cameras-mitigations.yaml\n  vigil mitigation history --thing cam-01",
		newMitigationSetCmd(), newMitigationGetCmd(), newMitigationRemoveCmd(), newMitigationHistoryCmd())
}

func newMitigationSetCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "set PROFILE -f FILE",
		short: "Set the mitigations of a profile's behaviors from a JSON or YAML file",
		long: "set replaces the mitigations of a profile with those of the file, in the shape\n" +
			`{"behaviorMitigations": [{"behaviorName": "...", "actions": [{"quarantineParams": {"durationSeconds": 3600}}]}]}.`,
		example: "  vigil mitigation set cameras -f mitigations.yaml",
		args:    cobra.ExactArgs(1),
		flags:   func(f *pflag.FlagSet) { f.StringP("file", "f", "", "JSON or YAML file (\"-\": standard input)") },
		run: func(s *session, args []string) error {
			path := mustString(s.cmd.Flags(), "file")
			if path == "" {
				return usageErrorf("give the file with -f")
			}
			data, err := readInput(s.cmd, path)
			if err != nil {
				return err
			}
			if !json.Valid(data) {
				if data, err = yaml.YAMLToJSON(data); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			answer, err := s.api.put(s.ctx(), apiPath("security-profiles", args[0], "mitigations"), nil, json.RawMessage(data))
			if err != nil {
				return err
			}
			return s.done(answer, "set the mitigations of profile %s", args[0])
		},
	})
}

func newMitigationGetCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "get PROFILE",
		short:   "Show the mitigations of a profile",
		output:  "json",
		example: "  vigil mitigation get cameras",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			return s.answer(s.api.get(s.ctx(), apiPath("security-profiles", args[0], "mitigations"), nil))
		},
	})
}

func newMitigationRemoveCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "rm PROFILE",
		short:   "Remove the mitigations of a profile",
		example: "  vigil mitigation rm cameras",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			answer, err := s.api.delete(s.ctx(), apiPath("security-profiles", args[0], "mitigations"), nil)
			if err != nil {
				return err
			}
			return s.done(answer, "removed the mitigations of profile %s", args[0])
		},
	})
}

func newMitigationHistoryCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "history",
		short:   "List the mitigation actions taken, by violation or thing",
		example: "  vigil mitigation history --violation 3e40...\n  vigil mitigation history --thing cam-01",
		args:    cobra.NoArgs,
		flags: func(f *pflag.FlagSet) {
			f.String("violation", "", "only the actions of this violation")
			f.String("thing", "", "only the actions on this thing")
		},
		run: func(s *session, _ []string) error {
			q := url.Values{}
			if v := mustString(s.cmd.Flags(), "violation"); v != "" {
				q.Set("violationId", v)
			}
			if v := mustString(s.cmd.Flags(), "thing"); v != "" {
				q.Set("thingName", v)
			}
			list, err := s.api.listAll(s.ctx(), apiPath("detect", "mitigationactions", "executions"), q, "actionsExecutions")
			if err != nil || s.json {
				return s.answer(list.json(), err)
			}
			items, err := decodeItems(list.items)
			if err != nil {
				return err
			}
			t := newTable("TIME", "THING", "ACTION", "STATUS", "VIOLATION", "BEHAVIOR", "MESSAGE").omitEmpty("VIOLATION", "BEHAVIOR", "MESSAGE")
			for _, o := range items {
				t.row(o.time("executionStartDate"), o.text("thingName"), o.text("actionName"), o.text("status"),
					o.text("violationId"), o.text("behaviorName"), o.text("message"))
			}
			return t.write(s)
		},
	})
}
