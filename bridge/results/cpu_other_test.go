//go:build !unix

package results

import "time"

// cpuTime is unknown here.
func cpuTime() time.Duration { return 0 }
