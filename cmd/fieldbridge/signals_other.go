//go:build !unix

package main

import "os"

// reloadSignals: none here (the Windows service reloads on the service
// manager's "paramchange" control instead).
func reloadSignals() []os.Signal { return nil }
