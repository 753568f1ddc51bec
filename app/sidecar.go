package app

import (
	"context"
	"errors"
	"time"

	"github.com/vigil-iot/vigil/detector/mqttclient"
)

// DefaultDrainTimeout bounds how long a stopping sidecar waits for the
// detector to answer the reports it already has.
const DefaultDrainTimeout = 10 * time.Second

var errNoEmbeddedBroker = errors.New("sidecar mode has no embedded broker: subscribe on the external broker")

// StartSidecar starts `vigil detect`: the same store, registry, detector
// and HTTP API as Start, fed by an MQTT client of an external broker
// instead of the embedded broker. The broker-only options (MQTTAddr,
// WebSocketAddr, AllowAnonymous and the shared MQTT passwords) are not
// used: the external broker authenticates its clients. The client logs
// through opts.Logger.
//
// Reports are handed to the detector with no sender: the external broker's
// ACLs must stop a device from publishing on another thing's report topic.
// It returns once the detector is subscribed and the API listens; the
// broker must accept the connections within feed.ConnectTimeout.
func StartSidecar(opts Options, feed mqttclient.Options) (*App, error) {
	opts = withDefaults(opts)
	a := &App{opts: opts, log: opts.Logger, done: make(chan struct{}), errs: make(chan error, 2)}
	feed.Logger = a.log
	if err := a.startSidecar(feed); err != nil {
		a.closeParts()
		return nil, err
	}
	return a, nil
}

func (a *App) startSidecar(feed mqttclient.Options) error {
	reg, err := a.openStore()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if a.client, err = mqttclient.Dial(ctx, feed); err != nil {
		return err
	}
	promReg, err := a.newService(reg, a.client)
	if err != nil {
		return err
	}
	a.runService() // publishes what the outbox holds once the publishing connection is up
	err = a.client.Receive(ctx, func(topic string, payload []byte) {
		a.service.HandleReport(topic, payload, "") // no broker-side identity in sidecar mode
	})
	if err != nil {
		return err
	}
	return a.startHTTP(promReg)
}

// drainClient lets the detector answer the reports it was handed before it
// stops. Those it cannot answer in time stay unacknowledged, and the broker
// delivers them again to the next session.
func (a *App) drainClient() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultDrainTimeout)
	defer cancel()
	if err := a.client.Drain(ctx); err != nil {
		a.log.Warn().Err(err).Msg("stopping before every report was answered; the broker will deliver the rest again")
	}
	return nil
}

// sidecarBroker is the external broker's URL, without a password.
func (a *App) sidecarBroker() string {
	if a.client == nil {
		return ""
	}
	return a.client.Broker()
}
