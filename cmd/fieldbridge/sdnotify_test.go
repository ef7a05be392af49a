//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listenNotify listens on a unixgram socket as systemd does for
// NOTIFY_SOCKET and returns its messages.
func listenNotify(t *testing.T, name string) <-chan string {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	out := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			out <- string(buf[:n])
		}
	}()
	return out
}

func nextNotify(t *testing.T, msgs <-chan string) string {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no sd_notify message")
		return ""
	}
}

func TestSDNotify(t *testing.T) {
	tests := []struct {
		name string
		addr string // "" for none; "@…" abstract
	}{
		{"path", filepath.Join(t.TempDir(), "notify.sock")},
		{"abstract", fmt.Sprintf("@fieldbridge-test-%d-%d", os.Getpid(), time.Now().UnixNano())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := listenNotify(t, tt.addr)
			n := newSDNotifier(func(k string) string {
				if k == "NOTIFY_SOCKET" {
					return tt.addr
				}
				return ""
			})
			if !n.Enabled() {
				t.Fatal("not enabled")
			}
			for _, state := range []string{"READY=1", reloading(), "STOPPING=1"} {
				if err := n.Notify(state); err != nil {
					t.Fatal(err)
				}
				if got := nextNotify(t, msgs); got != state {
					t.Fatalf("got %q, want %q", got, state)
				}
			}
		})
	}
}

func TestSDNotifyOff(t *testing.T) {
	for _, addr := range []string{"", "vsock:2:1234", "relative.sock"} {
		n := newSDNotifier(func(string) string { return addr })
		if n.Enabled() {
			t.Errorf("NOTIFY_SOCKET=%q: enabled", addr)
		}
		if err := n.Notify("READY=1"); err != nil {
			t.Errorf("NOTIFY_SOCKET=%q: %v", addr, err)
		}
	}
	if r := reloading(); !strings.HasPrefix(r, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("reloading() = %q", r)
	}
}
