//go:build !unix

package main

import "os"

// onJournal: there is no journal here.
func onJournal(*os.File, func(string) string) bool { return false }
