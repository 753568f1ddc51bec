package main

import (
	"github.com/spf13/cobra"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/detector/mqttclient"
)

// brokerOnlyFlags are the server flags of the embedded broker, which
// `vigil detect` does not have. They stay accepted in a configuration file
// shared with `vigil serve`, hidden, and refused on the command line.
var brokerOnlyFlags = append([]string{"mqtt", "mqtt-ws", "allow-anonymous", "operator-password", "fleet-password"}, mqttTLSFlags...)

func newDetectCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "detect --broker URL",
		Short: "Run the detector and the HTTP API against an external MQTT broker",
		Long: "detect runs the detector of `vigil serve` without its broker: it subscribes to the report topics of an\n" +
			"existing broker ($aws/things/+/defender/metrics/+ and $vigil/things/+/defender/metrics/+) with a persistent\n" +
			"session, and publishes the replies, the violation events and the retained active violations back to it.\n" +
			"The broker's ACLs must keep each device to its own report topics: detect cannot tell who published a report.",
		Args: cobraArgs(cobra.NoArgs),
		RunE: runDetect,
	}
	addServerFlags(cmd)
	for _, name := range brokerOnlyFlags {
		_ = cmd.Flags().MarkHidden(name) // the flag exists: declared just above
	}
	f := cmd.Flags()
	f.StringArray("profile", nil, "security profile file (AWS JSON or YAML) to create or update at start; attached to all things unless it has targets (repeatable)")
	f.String("broker", "", "URL of the MQTT broker: mqtt://host:1883, or mqtts://host:8883 for TLS (required)")
	f.String("client-id", mqttclient.DefaultClientID, "MQTT client id of the detector's persistent session; the publishing connection adds "+mqttclient.PublisherSuffix)
	f.String("username", "", "MQTT username")
	f.String("password", "", "MQTT password (prefer VIGIL_PASSWORD)")
	f.String("ca", "", "PEM file of the CA certificates that sign the broker's certificate (default: the system's)")
	f.String("cert", "", "PEM file of the client certificate, for brokers that authenticate by certificate")
	f.String("key", "", "PEM file of the client certificate's key")
	f.Duration("publish-timeout", mqttclient.DefaultPublishTimeout, "how long a QoS 1 publish waits for the broker's acknowledgement")
	f.Duration("connect-timeout", mqttclient.DefaultConnectTimeout, "how long to wait for the broker at start")
	return cmd
}

func runDetect(cmd *cobra.Command, _ []string) error {
	for _, name := range brokerOnlyFlags {
		if cmd.Flags().Changed(name) {
			return usageErrorf("--%s configures the embedded broker of vigil serve; vigil detect connects to --broker", name)
		}
	}
	opts, err := configuredServer(cmd)
	if err != nil {
		return err
	}
	feed, err := feedOptions(cmd)
	if err != nil {
		return err
	}
	a, err := app.StartSidecar(opts, feed)
	if err != nil {
		return err
	}
	return runApp(cmd, a)
}

// feedOptions reads the broker connection flags.
func feedOptions(cmd *cobra.Command) (mqttclient.Options, error) {
	f := cmd.Flags()
	var o mqttclient.Options
	o.Broker, _ = f.GetString("broker")
	o.ClientID, _ = f.GetString("client-id")
	o.Username, _ = f.GetString("username")
	o.Password, _ = f.GetString("password")
	o.CAFile, _ = f.GetString("ca")
	o.CertFile, _ = f.GetString("cert")
	o.KeyFile, _ = f.GetString("key")
	o.PublishTimeout, _ = f.GetDuration("publish-timeout")
	o.ConnectTimeout, _ = f.GetDuration("connect-timeout")
	switch {
	case o.Broker == "":
		return o, usageErrorf("--broker is required (for example --broker mqtt://127.0.0.1:1883)")
	case o.ClientID == "":
		return o, usageErrorf("--client-id must not be empty")
	case (o.CertFile == "") != (o.KeyFile == ""):
		return o, usageErrorf("--cert and --key go together")
	case o.PublishTimeout <= 0 || o.ConnectTimeout <= 0:
		return o, usageErrorf("--publish-timeout and --connect-timeout must be positive")
	}
	return o, nil
}
