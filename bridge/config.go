package bridge

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Config is a loaded, validated configuration file.
// (Stub: the engine issue fills in loading, defaults, secrets and checks.)
type Config struct {
	// DataDir holds the ledger and working folders.
	DataDir string `toml:"data_dir"`
	// Timezone is the default IANA zone for schedules and dates.
	Timezone string `toml:"timezone"`

	conns     map[string]any
	connTypes map[string]string
}

func (c *Config) conn(name string) (string, any, error) {
	opts, ok := c.conns[name]
	if !ok {
		names := make([]string, 0, len(c.conns))
		for n := range c.conns {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", nil, fmt.Errorf("no connection named %q (configured: %s)", name, strings.Join(names, ", "))
	}
	return c.connTypes[name], opts, nil
}

// Duration is a time.Duration written as text in the config ("90s", "5m").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (use e.g. 30s, 5m, 2h): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }
