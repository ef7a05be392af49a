package bridge

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EmbeddedHTTPOpts stands for options a connector embeds untagged (as
// connectors/internal/httpapi.Options): their keys are the connection's own.
type EmbeddedHTTPOpts struct {
	Timeout time.Duration `toml:"timeout"`
	CAFile  string        `toml:"ca_file"`
	Proxy   string        `toml:"proxy_password" secret:"true"`
	Name    string        `toml:"name" required:"true"`
}

type embeddingConnOpts struct {
	URL string `toml:"url"`
	EmbeddedHTTPOpts
}

func TestConfigEmbeddedOptionsAreFlattened(t *testing.T) {
	t.Setenv("FB_CA", "/etc/ssl/ca.pem")
	t.Setenv("FB_PROXY", "pr0xy")
	reg := testRegistry()
	reg.Conns["web"] = ConnType{Name: "web", NewOptions: func() any {
		return &embeddingConnOpts{EmbeddedHTTPOpts: EmbeddedHTTPOpts{Timeout: time.Minute}}
	}}
	text := `
[connections.w]
type = "web"
url = "https://example.com"
timeout = "5s"
ca_file = "${FB_CA}"
proxy_password = "${FB_PROXY}"
name = "n"
`
	cfg, err := ParseConfig(filepath.Join(t.TempDir(), "c.toml"), []byte(text), reg)
	if err != nil {
		t.Fatal(err)
	}
	_, o, err := (&Env{Config: cfg}).Conn("w")
	if err != nil {
		t.Fatal(err)
	}
	w := o.(*embeddingConnOpts)
	if w.Timeout != 5*time.Second || w.CAFile != "/etc/ssl/ca.pem" || w.Proxy != "pr0xy" || w.Name != "n" {
		t.Fatalf("options = %+v", w)
	}
	red := Redacted(w)
	for _, want := range []string{`ca_file = "/etc/ssl/ca.pem"`, `proxy_password = "<redacted>"`, `name = "n"`, `timeout = "5s"`} {
		if !strings.Contains(red, want) {
			t.Errorf("Redacted lacks %s:\n%s", want, red)
		}
	}
	if strings.Contains(red, "pr0xy") || strings.Contains(red, "EmbeddedHTTPOpts") {
		t.Errorf("Redacted = %s", red)
	}
	if sv := SecretValues(w); len(sv) != 1 || sv[0] != "pr0xy" {
		t.Errorf("SecretValues = %v", sv)
	}

	// a required key of the embedded struct is reported under its own name
	_, err = ParseConfig(filepath.Join(t.TempDir(), "c.toml"), []byte(`
[connections.w]
type = "web"
url = "https://example.com"
`), reg)
	if err == nil || !strings.Contains(err.Error(), `missing required option "name"`) {
		t.Fatalf("err = %v", err)
	}

	// an unknown variable in an embedded key names the key
	_, err = ParseConfig(filepath.Join(t.TempDir(), "c.toml"), []byte(strings.Replace(text, "${FB_CA}", "${FB_NOPE_CA}", 1)), reg)
	if err == nil || !strings.Contains(err.Error(), "ca_file: environment variable FB_NOPE_CA is not set") {
		t.Fatalf("err = %v", err)
	}
}
