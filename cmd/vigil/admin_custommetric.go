package main

import (
	"crypto/rand"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// customMetricTypes are the types a custom metric can have.
var customMetricTypes = []string{"number", "number-list", "string-list", "ip-address-list"}

func newCustomMetricCmd() *cobra.Command {
	return parentCmd("custom-metric", "Define the custom metrics devices report",
		"A custom metric is a value a device reports under custom_metrics in its metrics report; behaviors\n"+
			"name it in \"metric\" without the aws: prefix. Its type cannot change once it is created.",
		"  vigil custom-metric create batteryPercentage --type number --display-name 'Battery (%)'",
		newCustomMetricCreateCmd(), newCustomMetricGetCmd(), newCustomMetricListCmd(), newCustomMetricRemoveCmd())
}

func newCustomMetricCreateCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "create NAME",
		short: "Define a custom metric",
		example: "  vigil custom-metric create batteryPercentage --type number\n" +
			"  vigil custom-metric create remoteHosts --type ip-address-list --display-name 'Remote hosts'",
		args: cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.String("type", "", "metric type: number, number-list, string-list or ip-address-list (required)")
			f.String("display-name", "", "a friendlier name for dashboards")
		},
		run: func(s *session, args []string) error {
			f := s.cmd.Flags()
			if err := requireFlags(f, "type"); err != nil {
				return err
			}
			typ := mustString(f, "type")
			if !slices.Contains(customMetricTypes, typ) {
				return usageErrorf("--type %q: want number, number-list, string-list or ip-address-list", typ)
			}
			// As the AWS CLI does, send a token that makes a retried create idempotent.
			body := map[string]string{"metricType": typ, "clientRequestToken": rand.Text()}
			if d := mustString(f, "display-name"); d != "" {
				body["displayName"] = d
			}
			answer, err := s.api.post(s.ctx(), apiPath("custom-metric", args[0]), nil, body)
			if err != nil {
				return err
			}
			return s.done(answer, "created custom metric %s (%s)", args[0], typ)
		},
	})
}

func newCustomMetricGetCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "get NAME",
		short:   "Show a custom metric",
		example: "  vigil custom-metric get batteryPercentage",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			answer, err := s.api.get(s.ctx(), apiPath("custom-metric", args[0]), nil)
			if err != nil || s.json {
				return s.answer(answer, err)
			}
			o, err := decodeObject(answer)
			if err != nil {
				return err
			}
			t := customMetricTable("CREATED", "MODIFIED")
			t.row(append(customMetricRow(o), o.time("creationDate"), o.time("lastModifiedDate"))...)
			return t.write(s)
		},
	})
}

func newCustomMetricListCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "ls",
		short:   "List custom metrics",
		example: "  vigil custom-metric ls",
		args:    cobra.NoArgs,
		run: func(s *session, _ []string) error {
			l, err := s.api.listAll(s.ctx(), "/api/custom-metrics", nil, "metricNames")
			if err != nil || s.json {
				return s.answer(l.json(), err)
			}
			metrics, err := decodeItems(l.items)
			if err != nil {
				return err
			}
			t := customMetricTable()
			for _, o := range metrics {
				t.row(customMetricRow(o)...)
			}
			return t.write(s)
		},
	})
}

// customMetricTable has the type columns optional: AWS lists custom metrics
// by name only.
func customMetricTable(more ...string) *table {
	header := append([]string{"NAME", "TYPE", "DISPLAY NAME"}, more...)
	return newTable(header...).omitEmpty(header[1:]...)
}

func customMetricRow(o apiObject) []string {
	return []string{o.text("metricName", "name"), o.text("metricType"), o.text("displayName")}
}

func newCustomMetricRemoveCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "rm NAME",
		short:   "Delete a custom metric",
		long:    "rm deletes a custom metric and its data; no security profile may use it any more.",
		example: "  vigil custom-metric rm batteryPercentage",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			answer, err := s.api.delete(s.ctx(), apiPath("custom-metric", args[0]), nil)
			if err != nil {
				return err
			}
			return s.done(answer, "deleted custom metric %s", args[0])
		},
	})
}
