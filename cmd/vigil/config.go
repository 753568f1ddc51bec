package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// applyConfig fills every flag of cmd that was not given on the command
// line: first from its environment variable VIGIL_<FLAG>, then from the
// YAML file named by --config. Flags win over the environment, which wins
// over the file.
func applyConfig(cmd *cobra.Command) error {
	file := map[string]any{}
	if f := cmd.Flags().Lookup("config"); f != nil && f.Value.String() != "" {
		data, err := os.ReadFile(f.Value.String())
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		if err := yaml.Unmarshal(data, &file); err != nil {
			return fmt.Errorf("config %s: %w", f.Value.String(), err)
		}
	}
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" {
			return
		}
		env := "VIGIL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := f.Value.Set(v); e != nil {
				err = usageErrorf("%s=%q: %v", env, v, e)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if e := f.Value.Set(fmt.Sprint(v)); e != nil {
				err = usageErrorf("config key %s: %v", f.Name, e)
			}
			delete(file, f.Name)
		}
	})
	if err != nil {
		return err
	}
	for key := range file {
		if cmd.Flags().Lookup(key) == nil {
			return usageErrorf("config key %q is not a flag of %q", key, cmd.CommandPath())
		}
	}
	return nil
}

// usageError is a bad command line or configuration: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}
