package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-iot/vigil/detector/alert"
	"github.com/vigil-iot/vigil/detector/registry"
)

// newAlerts builds the webhook dispatcher on the store: it reads each
// profile's webhook from the registry at every attempt, and keeps
// deliveries as long as the other data.
func (a *App) newAlerts(reg *registry.Registry, promReg prometheus.Registerer) error {
	d, err := alert.New(alert.Options{
		DB: a.db, Lookup: webhookLookup(reg), Clock: a.opts.AlertClock, MaxAge: a.opts.Retention,
		Registerer: promReg, Logger: a.log,
	})
	a.alerts = d
	return err
}

// webhookLookup finds a profile's webhook in the registry.
func webhookLookup(reg *registry.Registry) func(profile string) (alert.Webhook, bool) {
	return func(profile string) (alert.Webhook, bool) {
		p, ok := reg.Profile(profile)
		if !ok {
			return alert.Webhook{}, false
		}
		hook, ok := p.AlertTargets[registry.AlertWebhook]
		return alert.Webhook{URL: hook.URL, Secret: hook.Secret}, ok
	}
}

// runAlerts makes the webhook deliveries until ctx ends.
func (a *App) runAlerts(ctx context.Context) {
	a.alertsDone = make(chan struct{})
	go func() {
		defer close(a.alertsDone)
		_ = a.alerts.Run(ctx) // returns nil once ctx ends
	}()
}

// waitAlerts waits for the webhook deliveries in flight to be settled.
func (a *App) waitAlerts() {
	if a.alertsDone != nil {
		<-a.alertsDone
	}
}
