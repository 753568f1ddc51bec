package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vigil-iot/vigil/app"
)

// defaultAPI is the server the admin commands call unless --api or
// VIGIL_API names another.
const defaultAPI = "http://" + app.DefaultHTTPAddr

// adminCommands returns the commands that talk to a running server.
func adminCommands() []*cobra.Command {
	return []*cobra.Command{
		newThingCmd(),
		newGroupCmd(),
		newCustomMetricCmd(),
		newProfileCmd(),
		newViolationsCmd(),
		newMetricsCmd(),
		newMitigationCmd(),
	}
}

// session is what an admin command runs with: the API client, the output
// format and the command's streams.
type session struct {
	cmd  *cobra.Command
	api  *apiClient
	out  io.Writer
	json bool
}

func (s *session) ctx() context.Context { return s.cmd.Context() }

// adminSpec describes one admin command. Every admin command has --api and
// -o; flags adds its own.
type adminSpec struct {
	use, short, long, example string
	args                      cobra.PositionalArgs
	// output is the default of -o: "table" unless the command says otherwise.
	output string
	flags  func(f *pflag.FlagSet)
	run    func(s *session, args []string) error
}

func adminCmd(spec adminSpec) *cobra.Command {
	if spec.output == "" {
		spec.output = "table"
	}
	cmd := &cobra.Command{
		Use:     spec.use,
		Short:   spec.short,
		Long:    spec.long,
		Example: spec.example,
		Args:    cobraArgs(spec.args),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := newSession(cmd)
			if err != nil {
				return err
			}
			return spec.run(s, args)
		},
	}
	f := cmd.Flags()
	f.String("api", defaultAPI, "URL of the Vigil server (env VIGIL_API)")
	f.StringP("output", "o", spec.output, "output format: table or json (the API's answer)")
	addAPIAuthFlags(f)
	if spec.flags != nil {
		spec.flags(f)
	}
	return cmd
}

// newSession applies VIGIL_<FLAG> environment variables to the flags not
// given and checks the flags every admin command shares.
func newSession(cmd *cobra.Command) (*session, error) {
	if err := applyConfig(cmd); err != nil {
		return nil, err
	}
	f := cmd.Flags()
	api, err := newAPIClient(mustString(f, "api"))
	if err != nil {
		return nil, err
	}
	if err := api.authenticate(f); err != nil {
		return nil, err
	}
	s := &session{cmd: cmd, api: api, out: cmd.OutOrStdout()}
	switch o := mustString(f, "output"); o {
	case "table":
	case "json":
		s.json = true
	default:
		return nil, usageErrorf("-o %q: want table or json", o)
	}
	return s, nil
}

// parentCmd is a command that only groups others: run alone it prints its
// help; given an unknown subcommand it is a usage error.
func parentCmd(use, short, long, example string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cobraArgs(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(subs...)
	return cmd
}

// done prints the outcome of a change: the API's answer with -o json, a
// sentence otherwise.
func (s *session) done(answer []byte, format string, args ...any) error {
	if s.json {
		return s.printJSON(answer)
	}
	_, err := fmt.Fprintf(s.out, format+"\n", args...)
	return err
}

// answer prints the API's answer as JSON, or returns the error of the
// request that produced it.
func (s *session) answer(answer []byte, err error) error {
	if err != nil {
		return err
	}
	return s.printJSON(answer)
}

// mustString reads a string flag the command declared.
func mustString(f *pflag.FlagSet, name string) string {
	v, err := f.GetString(name)
	if err != nil {
		panic(fmt.Sprintf("flag --%s: %v", name, err))
	}
	return v
}

// requireFlags returns a usage error naming the first of the flags that is
// empty.
func requireFlags(f *pflag.FlagSet, names ...string) error {
	for _, n := range names {
		if f.Lookup(n).Value.String() == "" {
			return usageErrorf("--%s is required", n)
		}
	}
	return nil
}

// readInput reads the file named by path, or standard input for "-".
func readInput(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return data, nil
	}
	return os.ReadFile(path)
}

// spanValue is a duration flag that also takes days ("7d"), as retention and
// look-back periods are naturally written.
type spanValue time.Duration

func (d *spanValue) String() string { return time.Duration(*d).String() }

func (d *spanValue) Type() string { return "duration" }

func (d *spanValue) Set(s string) error {
	v, err := parseSpan(s)
	if err != nil {
		return err
	}
	*d = spanValue(v)
	return nil
}

func parseSpan(s string) (time.Duration, error) {
	var v time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 90m, 24h or 7d", s)
		}
		v = time.Duration(n * float64(24*time.Hour))
	} else {
		var err error
		if v, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 90m, 24h or 7d", s)
		}
	}
	if v <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration", s)
	}
	return v, nil
}

func spanFlag(f *pflag.FlagSet, name string, def time.Duration, usage string) {
	d := spanValue(def)
	f.Var(&d, name, usage)
}

func getSpan(f *pflag.FlagSet, name string) time.Duration {
	return time.Duration(*f.Lookup(name).Value.(*spanValue))
}

// addTimeRangeFlags declares --since, --start and --end.
func addTimeRangeFlags(f *pflag.FlagSet, since time.Duration) {
	spanFlag(f, "since", since, "look back this far from now (or from --end), e.g. 90m, 24h, 7d")
	f.String("start", "", "start of the time range, RFC 3339 (e.g. 2025-06-01T00:00:00Z); instead of --since")
	f.String("end", "", "end of the time range, RFC 3339 (default: now)")
}

// timeRange reads --since, --start and --end: the range ends at --end (or
// now) and starts at --start (or --since before its end).
func timeRange(f *pflag.FlagSet, now time.Time) (start, end time.Time, err error) {
	end = now
	if s := mustString(f, "end"); s != "" {
		if end, err = time.Parse(time.RFC3339, s); err != nil {
			return start, end, usageErrorf("--end %q: want an RFC 3339 time such as 2025-06-01T00:00:00Z", s)
		}
	}
	s := mustString(f, "start")
	if s == "" {
		return end.Add(-getSpan(f, "since")), end, nil
	}
	if f.Changed("since") {
		return start, end, usageErrorf("give --since or --start, not both")
	}
	if start, err = time.Parse(time.RFC3339, s); err != nil {
		return start, end, usageErrorf("--start %q: want an RFC 3339 time such as 2025-06-01T00:00:00Z", s)
	}
	if !start.Before(end) {
		return start, end, usageErrorf("--start %s is not before the end %s", s, end.Format(time.RFC3339))
	}
	return start, end, nil
}

// epochParam writes t as the API's epoch seconds.
func epochParam(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
