package bridge

import (
	"strings"
	"testing"
	"time"
)

func TestResolvePath(t *testing.T) {
	tests := []struct {
		goos, dir, p, want string
	}{
		{"linux", "/etc/fieldbridge", "", ""},
		{"linux", "/etc/fieldbridge", "data", "/etc/fieldbridge/data"},
		{"linux", "/etc/fieldbridge", "../spool/in", "/etc/spool/in"},
		{"linux", "/etc/fieldbridge", "/var/lib/fieldbridge", "/var/lib/fieldbridge"},
		{"windows", `C:\ProgramData\fieldbridge`, "data", `C:\ProgramData\fieldbridge\data`},
		{"windows", `C:\ProgramData\fieldbridge`, `..\entrada`, `C:\ProgramData\entrada`},
		{"windows", `C:\ProgramData\fieldbridge`, `sub/dir`, `C:\ProgramData\fieldbridge\sub\dir`},
		{"windows", `C:\ProgramData\fieldbridge`, `D:\fieldbridge\entrada`, `D:\fieldbridge\entrada`},
		{"windows", `C:\ProgramData\fieldbridge`, `d:/fieldbridge/entrada/`, `d:\fieldbridge\entrada`},
		{"windows", `C:\ProgramData\fieldbridge`, `\\server\share\entrada`, `\\server\share\entrada`},
		{"windows", `C:\ProgramData\fieldbridge`, `//server/share/entrada`, `\\server\share\entrada`},
		{"windows", `C:\ProgramData\fieldbridge`, `\\server\share`, `\\server\share`},
		{"windows", `C:\ProgramData\fieldbridge`, `\\server\share\a\..\..\..\b`, `\\server\share\b`},
		{"windows", `C:\ProgramData\fieldbridge`, `\entrada`, `C:\entrada`},
		{"windows", `\\server\share\fieldbridge`, `entrada`, `\\server\share\fieldbridge\entrada`},
		{"windows", `\\server\share\fieldbridge`, `\entrada`, `\\server\share\entrada`},
	}
	for _, tt := range tests {
		if got := resolvePath(tt.goos, tt.dir, tt.p); got != tt.want {
			t.Errorf("resolvePath(%s, %q, %q) = %q, want %q", tt.goos, tt.dir, tt.p, got, tt.want)
		}
	}
}

func TestCheckFolder(t *testing.T) {
	tests := []struct {
		goos, p string
		ok      bool
	}{
		{"linux", "/srv/drop", true},
		{"linux", `\\server\share`, true}, // a strange but legal Unix name
		{"linux", "a\x00b", false},
		{"windows", "", true},
		{"windows", `D:\fieldbridge\entrada`, true},
		{"windows", `D:/fieldbridge/entrada`, true},
		{"windows", `\\server\share\entrada`, true},
		{"windows", `//server/share`, true},
		{"windows", `relative\entrada`, true},
		{"windows", `\\server`, false},
		{"windows", `\\server\`, false},
		{"windows", `D:entrada`, false},
		{"windows", `D:\entrada\a:b`, false},
		{"windows", `D:\entrada?`, false},
		{"windows", `D:\entrada\NUL`, false},
		{"windows", `D:\entrada\com1.txt`, false},
		{"windows", `D:\entrada\console`, true},
		{"windows", `\\.\PhysicalDrive0`, false},
		{"windows", `\\?\D:\entrada`, false},
	}
	for _, tt := range tests {
		err := checkFolder(tt.goos, tt.p)
		if (err == nil) != tt.ok {
			t.Errorf("checkFolder(%s, %q) = %v, want ok %v", tt.goos, tt.p, err, tt.ok)
		}
	}
}

func TestIsNetworkPath(t *testing.T) {
	tests := []struct {
		goos, p string
		want    bool
	}{
		{"windows", `\\server\share\entrada`, true},
		{"windows", `//server/share/entrada`, true},
		{"windows", `\\?\UNC\server\share\entrada`, true},
		{"windows", `\\?\D:\entrada`, false},
		{"windows", `D:\entrada`, false},
		{"windows", `entrada`, false},
		{"linux", `/mnt/share`, false},
		{"linux", `//server/share`, false},
	}
	for _, tt := range tests {
		if got := isNetworkPath(tt.goos, tt.p); got != tt.want {
			t.Errorf("isNetworkPath(%s, %q) = %v, want %v", tt.goos, tt.p, got, tt.want)
		}
	}
}

type folderOpts struct {
	Root   string `toml:"root" folder:"local"`
	Remote string `toml:"remote"` // not a folder of this machine: left as written
	Sub    []struct {
		Path string `toml:"path" folder:"local"`
	} `toml:"sub"`
}

// TestFolderOptions: options tagged folder:"local" are resolved against
// the config file's folder, at any depth, and checked (problems at their
// line).
func TestFolderOptions(t *testing.T) {
	reg := &Registry{Conns: map[string]ConnType{"dir": {Name: "dir", NewOptions: func() any { return &folderOpts{} }}}}
	cfg, err := ParseConfig("/etc/fb/config.toml", []byte(`data_dir = "data"
[connections.x]
type = "dir"
root = "in"
remote = "out"
[[connections.x.sub]]
path = "/srv/a"
[[connections.x.sub]]
path = "b/c"
`), reg)
	if err != nil {
		t.Fatal(err)
	}
	_, o, _ := cfg.conn("x")
	fo := o.(*folderOpts)
	if cfg.DataDir != "/etc/fb/data" || fo.Root != "/etc/fb/in" || fo.Remote != "out" || fo.Sub[0].Path != "/srv/a" || fo.Sub[1].Path != "/etc/fb/b/c" {
		t.Fatalf("data_dir %q, options %+v", cfg.DataDir, fo)
	}
	_, err = ParseConfig("/etc/fb/config.toml", []byte("[connections.x]\ntype = \"dir\"\n[[connections.x.sub]]\npath = \"a\\u0000b\"\n"), reg)
	if err == nil || !strings.Contains(err.Error(), `config.toml:4: connection "x": sub[0].path: contains a NUL character`) {
		t.Fatalf("err = %v", err)
	}
}

func TestWatchRescan(t *testing.T) {
	tests := []struct {
		name       string
		goos       string
		dirs       []string
		every      time.Duration
		want       time.Duration
		wantShares int
	}{
		{"default", "linux", []string{"/srv/in"}, 0, time.Minute, 0},
		{"configured", "linux", []string{"/srv/in"}, 30 * time.Second, 30 * time.Second, 0},
		{"long, local", "windows", []string{`D:\entrada`}, time.Hour, time.Hour, 0},
		{"long, on a share", "windows", []string{`D:\entrada`, `\\server\share\entrada`}, time.Hour, maxNetworkRescan, 1},
		{"short, on a share", "windows", []string{`\\server\share\entrada`}, 10 * time.Second, 10 * time.Second, 1},
		{"unset, on a share", "windows", []string{`//server/share/entrada`}, 0, time.Minute, 1},
	}
	for _, tt := range tests {
		got, shares := watchRescan(tt.goos, tt.dirs, tt.every)
		if got != tt.want || len(shares) != tt.wantShares {
			t.Errorf("%s: every %s, shares %v; want %s and %d", tt.name, got, shares, tt.want, tt.wantShares)
		}
	}
}
