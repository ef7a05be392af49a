// Package samples holds the sample task sheets (written by Gnumeric, see
// scripts/make-fixtures) and saved mappings that `fieldbridge demo` plays
// and the tests use, embedded so that the binary carries them.
package samples

import "embed"

// FS holds sheets/ and mappings/.
//
//go:embed sheets mappings
var FS embed.FS
