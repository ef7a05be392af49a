package viability

import (
	"context"
	"fmt"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/connectors/fortics"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
)

// OZmapNetwork adapts an OZmap client to the viability handler's Network.
func OZmapNetwork(c *ozmap.Client) fortics.Network { return ozNetwork{c} }

type ozNetwork struct{ c *ozmap.Client }

func (n ozNetwork) Poles(ctx context.Context, lat, lng, radiusM float64, limit int) ([]fortics.Pole, error) {
	ps, err := n.c.Poles(ctx, lat, lng, radiusM, limit)
	if err != nil {
		return nil, err
	}
	out := make([]fortics.Pole, len(ps))
	for i, p := range ps {
		out[i] = fortics.Pole{ID: p.ID, Name: p.Name, Lat: p.Lat, Lng: p.Lng, Usable: p.Usable}
	}
	return out, nil
}

func (n ozNetwork) Feasibility(ctx context.Context, lat, lng, radiusM float64) (fortics.Feasibility, error) {
	f, err := n.c.Feasibility(ctx, lat, lng, radiusM)
	if err != nil {
		return fortics.Feasibility{}, err
	}
	out := fortics.Feasibility{Viable: f.Viable, Refused: len(f.Refused), Boxes: make([]fortics.Box, len(f.Boxes))}
	for i, b := range f.Boxes {
		out.Boxes[i] = fortics.Box{ID: b.ID, Name: b.Name, DistanceM: b.Distance, Lat: b.Lat, Lng: b.Lng,
			Implanted: b.Implanted, FreePorts: b.Availability}
	}
	return out, nil
}

// ozmapNetwork builds the Network from the named OZmap connection. It does
// no I/O.
func ozmapNetwork(env *bridge.Env, name string) (fortics.Network, error) {
	if env == nil || env.Config == nil {
		return nil, fmt.Errorf("no connection named %q", name)
	}
	typ, opts, err := env.Conn(name)
	if err != nil {
		return nil, err
	}
	o, ok := opts.(*ozmap.Options)
	if typ != "ozmap" || !ok {
		return nil, fmt.Errorf("connection %q is of type %q, not \"ozmap\"", name, typ)
	}
	c, err := ozmap.New(*o)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", name, err)
	}
	return OZmapNetwork(c), nil
}
