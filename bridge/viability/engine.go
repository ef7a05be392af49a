package viability

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// What this package needs from the engine, in one place.

// serverToken is the bridge server's token ("" when none).
func serverToken(env *bridge.Env) string { return "" }

// registerer is the engine's Prometheus registry (nil: metrics unregistered).
func registerer(env *bridge.Env) prometheus.Registerer { return nil }
