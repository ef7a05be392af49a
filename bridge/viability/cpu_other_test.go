//go:build !unix

package viability

import "time"

// cpuTime is unknown here (0).
func cpuTime() time.Duration { return 0 }
