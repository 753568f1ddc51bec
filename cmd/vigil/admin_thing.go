package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newThingCmd() *cobra.Command {
	return parentCmd("thing", "Register and manage things (devices)",
		"A thing is a registered device: its name is its MQTT client id, and it authenticates with a\n"+
			"password or with a client certificate whose CN is its name.",
		"  vigil thing create cam-01 --attr site=lyon --password-stdin < cam-01.pass\n  vigil thing ls",
		append([]*cobra.Command{newThingCreateCmd(), newThingGetCmd(), newThingListCmd(), newThingRemoveCmd(), newThingPasswdCmd()},
			thingSecurityCmds()...)...)
}

func newThingCreateCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "create NAME",
		short: "Register a thing",
		long: "create registers a thing, with attributes and an MQTT password if given.\n" +
			"Prefer --password-stdin: a password on the command line shows in the process list and shell history.",
		example: "  vigil thing create cam-01\n" +
			"  vigil thing create cam-01 --attr site=lyon --attr model=x2 --password-stdin < cam-01.pass",
		args: cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.StringArray("attr", nil, "attribute KEY=VALUE (repeatable)")
			addPasswordFlags(f)
		},
		run: func(s *session, args []string) error {
			attrs, err := parseAttrs(s.cmd.Flags())
			if err != nil {
				return err
			}
			password, err := readPassword(s.cmd, false)
			if err != nil {
				return err
			}
			body := map[string]any{}
			if len(attrs) > 0 {
				body["attributePayload"] = map[string]any{"attributes": attrs}
			}
			if password != "" {
				body["password"] = password
			}
			answer, err := s.api.post(s.ctx(), apiPath("things", args[0]), nil, body)
			if err != nil {
				return err
			}
			return s.done(answer, "created thing %s", args[0])
		},
	})
}

func newThingGetCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "get NAME",
		short:   "Show a thing",
		example: "  vigil thing get cam-01\n  vigil thing get cam-01 -o json",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			answer, err := s.api.get(s.ctx(), apiPath("things", args[0]), nil)
			if err != nil || s.json {
				return s.answer(answer, err)
			}
			o, err := decodeObject(answer)
			if err != nil {
				return err
			}
			t := newTable("NAME", "ATTRIBUTES", "VERSION", "GROUPS").omitEmpty("ATTRIBUTES", "VERSION", "GROUPS")
			t.row(append(thingRow(o), o.text("thingGroups"))...)
			return t.write(s)
		},
	})
}

func newThingListCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "ls",
		short:   "List things",
		example: "  vigil thing ls\n  vigil thing ls -o json",
		args:    cobra.NoArgs,
		run: func(s *session, _ []string) error {
			l, err := s.api.listAll(s.ctx(), apiPath("things"), nil, "things")
			if err != nil || s.json {
				return s.answer(l.json(), err)
			}
			things, err := decodeItems(l.items)
			if err != nil {
				return err
			}
			t := newTable("NAME", "ATTRIBUTES", "VERSION").omitEmpty("ATTRIBUTES", "VERSION")
			for _, o := range things {
				t.row(thingRow(o)...)
			}
			return t.write(s)
		},
	})
}

func thingRow(o apiObject) []string {
	return []string{
		o.text("thingName", "name"),
		o.text("attributes", "attributePayload.attributes"),
		o.text("version"),
	}
}

func newThingRemoveCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "rm NAME",
		short:   "Delete a thing",
		long:    "rm deletes a thing; its active violations are invalidated.",
		example: "  vigil thing rm cam-01",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			answer, err := s.api.delete(s.ctx(), apiPath("things", args[0]), nil)
			if err != nil {
				return err
			}
			return s.done(answer, "deleted thing %s", args[0])
		},
	})
}

func newThingPasswdCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "passwd NAME",
		short:   "Set a thing's MQTT password",
		example: "  vigil thing passwd cam-01 --password-stdin < cam-01.pass\n  printf '%s' \"$PASS\" | vigil thing passwd cam-01 --password-stdin",
		args:    cobra.ExactArgs(1),
		flags:   addPasswordFlags,
		run: func(s *session, args []string) error {
			password, err := readPassword(s.cmd, true)
			if err != nil {
				return err
			}
			body := map[string]string{"password": password}
			answer, err := s.api.put(s.ctx(), apiPath("things", args[0], "password"), nil, body)
			if err != nil {
				return err
			}
			return s.done(answer, "set the password of thing %s", args[0])
		},
	})
}

func addPasswordFlags(f *pflag.FlagSet) {
	f.Bool("password-stdin", false, "read the MQTT password from standard input (one line)")
	f.String("password", "", "the MQTT password (visible to other users of this machine; prefer --password-stdin)")
}

// readPassword returns the password of --password or --password-stdin,
// which exclude each other; need says that one of them must be given.
func readPassword(cmd *cobra.Command, need bool) (string, error) {
	f := cmd.Flags()
	fromStdin, _ := f.GetBool("password-stdin")
	password := mustString(f, "password")
	switch {
	case fromStdin && password != "":
		return "", usageErrorf("give --password or --password-stdin, not both")
	case fromStdin:
		data, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<16))
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(string(data), "\r\n")
		if password == "" {
			return "", usageErrorf("--password-stdin: standard input holds no password")
		}
	case need && password == "":
		return "", usageErrorf("give the password with --password-stdin (or --password)")
	}
	return password, nil
}

// parseAttrs reads the --attr KEY=VALUE flags.
func parseAttrs(f *pflag.FlagSet) (map[string]string, error) {
	list, _ := f.GetStringArray("attr")
	attrs := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--attr %q: want KEY=VALUE", kv)
		}
		attrs[k] = v
	}
	return attrs, nil
}
