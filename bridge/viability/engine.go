package viability

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// What this package takes from the engine, in one place.

// serverToken is the bridge server's token ("" when none).
func serverToken(env *bridge.Env) string {
	if env == nil || env.Config == nil {
		return ""
	}
	return env.Config.HTTP.Token
}

// registerer is the engine's Prometheus registry (nil: metrics unregistered).
func registerer(env *bridge.Env) prometheus.Registerer {
	if env == nil || env.Metrics == nil {
		return nil
	}
	return env.Metrics.Registerer()
}

// configLanguage is the configuration's language ("" when unknown).
func configLanguage(env *bridge.Env) string {
	if env == nil || env.Config == nil {
		return ""
	}
	return env.Config.Language
}
