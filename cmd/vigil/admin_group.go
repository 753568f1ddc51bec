package main

import (
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newGroupCmd() *cobra.Command {
	return parentCmd("group", "Manage thing groups",
		"Thing groups gather things, and nest: a security profile attached to thinggroup/NAME applies to\n"+
			"the things of the group and of its child groups.",
		"  vigil group create cameras --description 'IP cameras'\n  vigil group add cameras cam-01",
		newGroupCreateCmd(), newGroupGetCmd(), newGroupListCmd(), newGroupRemoveCmd(),
		newGroupAddCmd(), newGroupRemoveThingCmd(), newGroupThingsCmd())
}

func newGroupCreateCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "create NAME",
		short:   "Create a thing group",
		example: "  vigil group create cameras\n  vigil group create lyon-cameras --parent cameras --description 'cameras in Lyon'",
		args:    cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.String("parent", "", "parent group")
			f.String("description", "", "description of the group")
		},
		run: func(s *session, args []string) error {
			f := s.cmd.Flags()
			body := map[string]any{}
			if p := mustString(f, "parent"); p != "" {
				body["parentGroupName"] = p
			}
			if d := mustString(f, "description"); d != "" {
				body["thingGroupProperties"] = map[string]string{"thingGroupDescription": d}
			}
			answer, err := s.api.post(s.ctx(), apiPath("thing-groups", args[0]), nil, body)
			if err != nil {
				return err
			}
			return s.done(answer, "created group %s", args[0])
		},
	})
}

func newGroupGetCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "get NAME",
		short:   "Show a thing group",
		example: "  vigil group get cameras",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			answer, err := s.api.get(s.ctx(), apiPath("thing-groups", args[0]), nil)
			if err != nil || s.json {
				return s.answer(answer, err)
			}
			o, err := decodeObject(answer)
			if err != nil {
				return err
			}
			t := groupTable("VERSION", "CREATED")
			t.row(append(groupRow(o), o.text("version"), o.time("thingGroupMetadata.creationDate", "creationDate"))...)
			return t.write(s)
		},
	})
}

func newGroupListCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "ls",
		short:   "List thing groups",
		example: "  vigil group ls",
		args:    cobra.NoArgs,
		run: func(s *session, _ []string) error {
			l, err := s.api.listAll(s.ctx(), apiPath("thing-groups"), nil, "thingGroups")
			if err != nil || s.json {
				return s.answer(l.json(), err)
			}
			groups, err := decodeItems(l.items)
			if err != nil {
				return err
			}
			t := groupTable()
			for _, o := range groups {
				t.row(groupRow(o)...)
			}
			return t.write(s)
		},
	})
}

// groupTable reads both AWS's DescribeThingGroup shape (description and
// parent nested) and the flat one of a list entry.
func groupTable(more ...string) *table {
	header := append([]string{"NAME", "PARENT", "DESCRIPTION"}, more...)
	return newTable(header...).omitEmpty(header[1:]...)
}

func groupRow(o apiObject) []string {
	return []string{
		o.text("thingGroupName", "groupName", "name"),
		o.text("thingGroupMetadata.parentGroupName", "parentGroupName"),
		o.text("thingGroupProperties.thingGroupDescription", "thingGroupDescription"),
	}
}

func newGroupRemoveCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "rm NAME",
		short:   "Delete a thing group",
		example: "  vigil group rm cameras",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			answer, err := s.api.delete(s.ctx(), apiPath("thing-groups", args[0]), nil)
			if err != nil {
				return err
			}
			return s.done(answer, "deleted group %s", args[0])
		},
	})
}

func newGroupAddCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "add GROUP THING",
		short:   "Add a thing to a group",
		example: "  vigil group add cameras cam-01",
		args:    cobra.ExactArgs(2),
		run: func(s *session, args []string) error {
			body := map[string]string{"thingGroupName": args[0], "thingName": args[1]}
			answer, err := s.api.put(s.ctx(), apiPath("thing-groups", "addThingToThingGroup"), nil, body)
			if err != nil {
				return err
			}
			return s.done(answer, "added thing %s to group %s", args[1], args[0])
		},
	})
}

func newGroupRemoveThingCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "remove GROUP THING",
		short:   "Remove a thing from a group",
		example: "  vigil group remove cameras cam-01",
		args:    cobra.ExactArgs(2),
		run: func(s *session, args []string) error {
			body := map[string]string{"thingGroupName": args[0], "thingName": args[1]}
			answer, err := s.api.put(s.ctx(), apiPath("thing-groups", "removeThingFromThingGroup"), nil, body)
			if err != nil {
				return err
			}
			return s.done(answer, "removed thing %s from group %s", args[1], args[0])
		},
	})
}

func newGroupThingsCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "things GROUP",
		short:   "List the things of a group",
		example: "  vigil group things cameras\n  vigil group things cameras --recursive",
		args:    cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.Bool("recursive", false, "include the things of child groups")
		},
		run: func(s *session, args []string) error {
			q := url.Values{}
			if r, _ := s.cmd.Flags().GetBool("recursive"); r {
				q.Set("recursive", "true")
			}
			l, err := s.api.listAll(s.ctx(), apiPath("thing-groups", args[0], "things"), q, "things")
			if err != nil || s.json {
				return s.answer(l.json(), err)
			}
			things, err := decodeItems(l.items)
			if err != nil {
				return err
			}
			t := newTable("THING")
			for _, o := range things {
				t.row(o.text("name", "thingName"))
			}
			return t.write(s)
		},
	})
}
