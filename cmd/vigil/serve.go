package main

import (
	"errors"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/proto"
)

// addServerFlags declares the flags that `vigil serve` and the commands
// built on it share.
func addServerFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("config", "", "YAML file of flag values (keys are flag names); flags and VIGIL_<FLAG> win over it")
	f.String("mqtt", app.DefaultMQTTAddr, "MQTT listener address")
	f.String("mqtt-ws", "", "MQTT over WebSocket listener address (empty: none)")
	f.String("http", app.DefaultHTTPAddr, "HTTP API and dashboard address")
	f.String("data", "./"+app.DefaultDataDir, "data directory")
	f.Duration("retention", app.DefaultRetention, "how long violation events and metric history are kept")
	f.Bool("allow-anonymous", false, "admit devices that send no credentials, named by their client id")
	f.String("time-source", "server", "datapoint time: server (receive time) or report (report_id as epoch ms, for simulation and replay)")
	f.Duration("min-report-interval", 0, "reject reports sooner than this after the previous one of a thing (Throttled); 0: off")
	f.Bool("lenient-report-id", false, "accept report ids that do not increase")
	f.Int("max-report-size", proto.DefaultMaxReportSize, "largest report accepted, in bytes")
	f.Duration("silence-timeout", 0, "invalidate a thing's alarms after it has been silent this long (0: 48h)")
	f.Int("min-population", 0, "devices needed in a window for a statistical threshold (0: 10); below it, no datapoint")
	f.String("operator-password", "", "password of the MQTT user "+app.OperatorUser+", who may read the violation topics (prefer VIGIL_OPERATOR_PASSWORD)")
	f.String("fleet-password", "", "password of the MQTT user "+app.FleetUser+", who may publish reports for any thing (prefer VIGIL_FLEET_PASSWORD)")
	addSecurityFlags(f)
}

// serverOptions reads the server flags into app.Options.
func serverOptions(cmd *cobra.Command) (app.Options, error) {
	f := cmd.Flags()
	var o app.Options
	o.MQTTAddr, _ = f.GetString("mqtt")
	o.WebSocketAddr, _ = f.GetString("mqtt-ws")
	o.HTTPAddr, _ = f.GetString("http")
	o.DataDir, _ = f.GetString("data")
	o.Retention, _ = f.GetDuration("retention")
	o.AllowAnonymous, _ = f.GetBool("allow-anonymous")
	o.MinInterval, _ = f.GetDuration("min-report-interval")
	o.LenientReportID, _ = f.GetBool("lenient-report-id")
	o.MaxReportSize, _ = f.GetInt("max-report-size")
	o.SilenceTimeout, _ = f.GetDuration("silence-timeout")
	o.MinPopulation, _ = f.GetInt("min-population")
	o.OperatorPassword, _ = f.GetString("operator-password")
	o.FleetPassword, _ = f.GetString("fleet-password")
	switch ts, _ := f.GetString("time-source"); ts {
	case "server":
	case "report":
		o.ReportTime = true
	default:
		return o, usageErrorf("--time-source %q: want server or report", ts)
	}
	if o.MaxReportSize <= 0 {
		return o, usageErrorf("--max-report-size must be positive")
	}
	return o, securityOptions(f, &o)
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the embedded MQTT broker, the detector and the HTTP API",
		Long: "serve runs Vigil in one process: an MQTT broker that devices report to, the detector that evaluates\n" +
			"their reports against the security profiles, and the HTTP API and dashboard. It needs no configuration.",
		Args: cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := configuredServer(cmd)
			if err != nil {
				return err
			}
			a, err := app.Start(opts)
			if err != nil {
				return err
			}
			return runApp(cmd, a)
		},
	}
	addServerFlags(cmd)
	cmd.Flags().StringArray("profile", nil, "security profile file (AWS JSON or YAML) to create or update at start; attached to all things unless it has targets (repeatable)")
	return cmd
}

// configuredServer applies the configuration file and environment, then
// reads the server flags and the logger into app.Options.
func configuredServer(cmd *cobra.Command) (app.Options, error) {
	if err := applyConfig(cmd); err != nil {
		return app.Options{}, err
	}
	log, err := newLogger(cmd)
	if err != nil {
		return app.Options{}, err
	}
	opts, err := serverOptions(cmd)
	opts.Logger = log
	return opts, err
}

// runApp applies the --profile files to a started app and runs it until a
// signal ends it.
func runApp(cmd *cobra.Command, a *app.App) error {
	files, _ := cmd.Flags().GetStringArray("profile")
	if err := applyProfiles(a.Service(), files); err != nil {
		return errors.Join(err, a.Close())
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return a.Wait(ctx)
}
