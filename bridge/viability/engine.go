package viability

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// What this package needs from the engine and connectors/ozmap, in one
// place while those land.

// serverToken is the bridge server's token ("" when none).
func serverToken(env *bridge.Env) string { return "" }

// registerer is the engine's Prometheus registry (nil: metrics unregistered).
func registerer(env *bridge.Env) prometheus.Registerer { return nil }

// ozmapNetwork builds the Network from the named OZmap connection.
func ozmapNetwork(env *bridge.Env, name string) (fortics.Network, error) {
	return nil, errNoOZmap
}

var errNoOZmap = errorString("the OZmap connector is not built in yet")

type errorString string

func (e errorString) Error() string { return string(e) }
