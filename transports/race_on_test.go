//go:build race

package transports

// raceEnabled: the race detector is on. sync.Pool then drops a share of
// what is put back, at random, so tests of recycling cannot hold.
const raceEnabled = true
