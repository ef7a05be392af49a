package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"golang.org/x/crypto/bcrypt"
)

func TestUserAdd(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		want        string
	}{
		{"clerk", "uma-senha-longa\n", []string{"user", "add", "maria", "-inbox", "tarefas/entrada", "-password-stdin"}, exitOK, `inboxes = ["tarefas/entrada"]`},
		{"operator", "outra-senha-longa\n", []string{"user", "add", "-role", "operator", "-password-stdin", "ana"}, exitOK, `role = "operator"`},
		{"clerk without inbox", "uma-senha-longa\n", []string{"user", "add", "bia", "-password-stdin"}, exitUsage, ""},
		{"short password", "curta\n", []string{"user", "add", "bia", "-inbox", "x", "-password-stdin"}, exitUsage, ""},
		{"no name", "uma-senha-longa\n", []string{"user", "add", "-password-stdin"}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			a := &app{stdin: strings.NewReader(tt.stdin), stdout: &out, stderr: &errb, reg: registry}
			if code := realMain(context.Background(), a, tt.args); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
			if tt.code != exitOK {
				return
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, out.String())
			}
			if strings.Contains(out.String()+errb.String(), strings.TrimSpace(tt.stdin)) {
				t.Fatal("the password itself was printed")
			}
			var doc struct {
				User []struct {
					PasswordHash string `toml:"password_hash"`
				} `toml:"user"`
			}
			if _, err := toml.Decode(out.String(), &doc); err != nil || len(doc.User) != 1 {
				t.Fatalf("not a [[user]] table: %v\n%s", err, out.String())
			}
			if bcrypt.CompareHashAndPassword([]byte(doc.User[0].PasswordHash), []byte(strings.TrimSpace(tt.stdin))) != nil {
				t.Fatal("the hash does not match the password")
			}
		})
	}
}
