package bridge

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseConfig: any text gives a config or a *ConfigError whose
// problems have sane lines — never a panic.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"",
		"data_dir = \"x\"\n[log]\nlevel = \"debug\"\n",
		"[[job]]\nname = \"a\"\nkind = \"copy\"\nconnection = \"c\"\n[job.sub]\na = \"1\"\n",
		"[connections.c]\ntype = \"ftp\"\nhost = \"h\"\nport = \"x\"\n",
		"a = \"\"\"\nb = 1\n\"\"\"\n[[t]]\nx = { y = [1, {z = 2}] }\n",
		"[[job]]\n[[job.x]]\n[job.x.y]\n'q.k' = 1\n",
		"[http\n",
	} {
		f.Add(s)
	}
	reg := testRegistry()
	f.Fuzz(func(t *testing.T, text string) {
		lines := 1
		for _, c := range text {
			if c == '\n' {
				lines++
			}
		}
		var err error
		done := make(chan struct{})
		go func() { _, err = ParseConfig("fuzz.toml", []byte(text), reg); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("ParseConfig takes more than 5 s on %q", text)
		}
		if err == nil {
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("error is not a *ConfigError: %v", err)
		}
		for _, p := range ce.Problems {
			if p.Line < 0 || p.Line > lines+1 {
				t.Fatalf("problem line %d outside the text (%d lines): %v", p.Line, lines, p)
			}
		}
		_ = scanKeyLines(text)
	})
}
