package main

import (
	"github.com/spf13/pflag"

	"github.com/vigil-iot/vigil/app"
	"github.com/vigil-iot/vigil/detector/api"
)

// mqttTLSFlags are the server flags of the embedded broker's TLS listener.
var mqttTLSFlags = []string{"mqtts", "mqtts-cert", "mqtts-key", "mqtts-host"}

// addSecurityFlags declares the flags of TLS and of the API's tokens.
func addSecurityFlags(f *pflag.FlagSet) {
	f.String("mqtts", "", "MQTT over TLS listener address, e.g. 127.0.0.1:8883 (empty: none); devices may log in with a certificate of Vigil's CA")
	f.String("mqtts-cert", "", "PEM file of the TLS listener's server certificate (default: one issued by Vigil's CA)")
	f.String("mqtts-key", "", "PEM file of the TLS listener's server key")
	f.StringArray("mqtts-host", nil, "a name or address devices reach the broker by, for the certificate issued by Vigil's CA (repeatable)")
	f.String("http-cert", "", "PEM file of the API's server certificate: serve HTTPS")
	f.String("http-key", "", "PEM file of the API's server key")
	f.StringArray("admin-token", nil, "API token that may call everything (repeatable; prefer VIGIL_ADMIN_TOKEN); required unless --http is a loopback address")
	f.StringArray("read-token", nil, "API token that may only read (repeatable; prefer VIGIL_READ_TOKEN)")
}

// securityOptions reads the flags of addSecurityFlags into o.
func securityOptions(f *pflag.FlagSet, o *app.Options) error {
	o.MQTTTLSAddr = mustString(f, "mqtts")
	o.MQTTTLSCert = mustString(f, "mqtts-cert")
	o.MQTTTLSKey = mustString(f, "mqtts-key")
	o.MQTTTLSHosts, _ = f.GetStringArray("mqtts-host")
	o.HTTPTLSCert = mustString(f, "http-cert")
	o.HTTPTLSKey = mustString(f, "http-key")
	o.Tokens.Admin, _ = f.GetStringArray("admin-token")
	o.Tokens.ReadOnly, _ = f.GetStringArray("read-token")
	if (o.MQTTTLSCert == "") != (o.MQTTTLSKey == "") {
		return usageErrorf("--mqtts-cert and --mqtts-key go together")
	}
	if (o.HTTPTLSCert == "") != (o.HTTPTLSKey == "") {
		return usageErrorf("--http-cert and --http-key go together")
	}
	if err := o.Tokens.Check(); err != nil {
		return usageErrorf("--%s", err)
	}
	if err := api.CheckExposure(o.HTTPAddr, o.Tokens); err != nil {
		return usageErrorf("--http %s: %v", o.HTTPAddr, err)
	}
	return nil
}
