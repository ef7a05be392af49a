package bridge

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	for i := range 4 {
		th.fail("u:maria")
		if d := th.wait("u:maria"); d != 0 {
			t.Fatalf("locked after %d failures", i+1)
		}
	}
	th.fail("u:maria")
	if d := th.wait("u:maria", "ip:10.0.0.1"); d != 30*time.Second {
		t.Fatalf("after five failures: wait %s, want 30s", d)
	}
	if d := th.wait("u:ana"); d != 0 {
		t.Fatal("another name is locked")
	}
	now = now.Add(31 * time.Second)
	if d := th.wait("u:maria"); d != 0 {
		t.Fatalf("still locked after the lockout: %s", d)
	}
	th.fail("u:maria")
	if d := th.wait("u:maria"); d != time.Minute {
		t.Fatalf("sixth failure: wait %s, want 1m (doubled)", d)
	}
	for range 20 {
		th.fail("u:maria")
	}
	if d := th.wait("u:maria"); d != maxLockout {
		t.Fatalf("wait %s, want the cap %s", d, maxLockout)
	}
	th.ok("u:maria")
	if d := th.wait("u:maria"); d != 0 {
		t.Fatal("a right password did not clear the count")
	}
}

func TestSessions(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	s := newSessions(func() time.Time { return now })
	tok, ss := s.start("maria")
	if got, ok := s.get(tok); !ok || got.user != "maria" || got.csrf != ss.csrf || got.csrf == "" {
		t.Fatal("a new session is not found")
	}
	if _, ok := s.get(tok + "x"); ok {
		t.Fatal("a wrong cookie opened a session")
	}
	now = now.Add(sessionIdle - time.Minute)
	if _, ok := s.get(tok); !ok {
		t.Fatal("expired while in use")
	}
	now = now.Add(sessionIdle + time.Minute)
	if _, ok := s.get(tok); ok {
		t.Fatal("an idle session lives on")
	}
	tok, _ = s.start("maria")
	s.end(tok)
	if _, ok := s.get(tok); ok {
		t.Fatal("a session lives on after logout")
	}
	for key := range s.m {
		if key == tok {
			t.Fatal("the cookie's value is stored")
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/import/x/": "/import/x/", "//evil.example/": "/import/", "https://evil.example/": "/import/",
		"/\\evil": "/import/", "": "/import/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
