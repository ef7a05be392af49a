package results

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
)

func registry() *bridge.Registry {
	r := &bridge.Registry{Kinds: map[string]bridge.Kind{}, Conns: map[string]bridge.ConnType{}}
	r.AddKind(Kind())
	for _, c := range fileconn.ConnTypes() {
		r.AddConn(c)
	}
	return r
}

// The section of config.toml.example, uncommented, is a valid job.
func TestConfigExampleSection(t *testing.T) {
	b, err := os.ReadFile("../../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, `# kind = "officetrack-results"`)
	if i < 0 {
		t.Fatal("no officetrack-results section in config.toml.example")
	}
	section := text[i+1:]
	section = section[strings.Index(section, "\n"):]
	if j := strings.Index(section[1:], "\n# ----"); j >= 0 {
		section = section[:j+1]
	}
	var lines []string
	for _, l := range strings.Split(section, "\n") {
		if strings.HasPrefix(l, "# [") || strings.HasPrefix(l, "# ") && regexp.MustCompile(`^# [a-z_]+ = `).MatchString(l) {
			lines = append(lines, strings.TrimPrefix(l, "# "))
		}
	}
	t.Setenv("OFFICETRACK_NOTIFY_TOKEN", "a-long-enough-shared-secret")
	t.Setenv("CUSTOMER_TOKEN", "c")
	conn := "[connections.officetrack-export]\ntype = \"ftp\"\nhost = \"h\"\nuser = \"u\"\n"
	cfg := bridgetest.Config(t, conn+strings.Join(lines, "\n"), registry())
	jc, ok := cfg.Job("field-results")
	if !ok {
		t.Fatalf("job not parsed from:\n%s", strings.Join(lines, "\n"))
	}
	o := jc.Options.(*Options)
	if o.Source != "officetrack-export" || o.MinAge.Duration != 30*time.Second || o.Notifications.Path != "/officetrack/notify" ||
		o.Notifications.Token != "a-long-enough-shared-secret" || len(o.Include) != 4 || o.Notifications.ForwardTimeout.Duration != 30*time.Second {
		t.Fatalf("decoded %+v", o)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	_, err := bridge.ParseConfig(t.TempDir()+"/c.toml", []byte(`
[[job]]
name = "r"
kind = "officetrack-results"
target_dir = "out"
after = "shred"
[job.notifications]
path = "/n"
token = "short"
`), registry())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"after", "shred", "notifications.token"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestMessagesInEveryLanguage(t *testing.T) {
	for lang, list := range messages {
		if len(list) != len(messages["pt-BR"]) {
			t.Errorf("%s has %d messages, pt-BR %d", lang, len(list), len(messages["pt-BR"]))
		}
		for id, m := range list {
			if m == "" {
				t.Errorf("%s: message %d is empty", lang, id)
			}
		}
	}
	j := &Job{env: &bridge.Env{Config: &bridge.Config{Language: "es"}}}
	if got := j.msg(msgTooLarge, "a.csv", "ftp://x", 10, 5); !strings.Contains(got, "más que max_file_size") {
		t.Fatalf("es: %q", got)
	}
	j.env.Config.Language = "fr"
	if got := j.msg(msgTooLarge, "a.csv", "ftp://x", 10, 5); !strings.Contains(got, "mais que max_file_size") {
		t.Fatalf("fallback pt-BR: %q", got)
	}
}
