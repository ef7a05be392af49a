//go:build fieldbridge_testkinds

package main

import "github.com/fieldbridge/fieldbridge/bridge/bridgetest"

// With -tags fieldbridge_testkinds the binary also knows the kind
// "test-work", used by the tests that drive the real binary.
func init() { extraKinds = append(extraKinds, bridgetest.WorkKind()) }
