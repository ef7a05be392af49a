//go:build !unix

package transports_test

// syncDisks does nothing here: there is no portable sync(2).
func syncDisks() {}
