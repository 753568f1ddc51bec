// Command vigil is Vigil's server and command-line tool: `vigil serve` runs
// the embedded broker, the detector and the API in one process, and the
// admin commands talk to a running server over its HTTP API.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// version is set at build time.
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit code: 0 on success, 1 on
// error with one line on stderr, 2 on bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "vigil:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "vigil:", err)
		return 1
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Vigil: an MQTT-native fleet security monitor",
		Long:          "Vigil watches a fleet of devices for signs of compromise: devices report their network state over MQTT,\nand security profiles of behaviors raise alarms when a device strays from them.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobraArgs(cobra.NoArgs),
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().String("log-format", "console", "log format: console or json")
	root.AddCommand(newServeCmd())
	root.AddCommand(newDetectCmd())
	root.AddCommand(newDemoCmd())
	root.AddCommand(newSimCmd())
	for _, c := range adminCommands() {
		root.AddCommand(c)
	}
	return root
}

// newLogger builds the process logger from the persistent flags.
func newLogger(cmd *cobra.Command) (zerolog.Logger, error) {
	levelName, _ := cmd.Flags().GetString("log-level")
	format, _ := cmd.Flags().GetString("log-format")
	level, err := zerolog.ParseLevel(levelName)
	if err != nil {
		return zerolog.Nop(), usageErrorf("--log-level: %v", err)
	}
	var w io.Writer = cmd.ErrOrStderr()
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	default:
		return zerolog.Nop(), usageErrorf("--log-format %q: want console or json", format)
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

// cobraArgs wraps cobra's argument checks so that a wrong count is a usage
// error (exit code 2).
func cobraArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err.Error()}
		}
		return nil
	}
}
