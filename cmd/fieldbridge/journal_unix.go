//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// onJournal reports whether f is the stream systemd connected to the
// journal: JOURNAL_STREAM ("device:inode") names f itself, not a stream a
// parent process had (systemd.exec(5)).
func onJournal(f *os.File, getenv func(string) string) bool {
	want := getenv("JOURNAL_STREAM")
	if want == "" {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return want == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
