//go:build unix

package bridgetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// Nodes are `fieldbridge run` processes of one cluster, for kill -9
// drills: one configuration file for all, each node's name and data
// folder given in FB_NODE and FB_DATA (the file says
// node = "${FB_NODE}" and data_dir = "${FB_DATA}"). The ledger, on the
// same database, tells which node holds a job.
type Nodes struct {
	t      testing.TB
	bin    string
	config string
	root   string
	env    []string
	ledger *ledger.Postgres
	procs  map[string]*exec.Cmd
	logs   map[string]*os.File
}

// NewNodes prepares nodes running config (a file) against the PostgreSQL
// ledger at url, with env added to each process's environment. Every node
// still running at the end of the test is killed.
func NewNodes(t testing.TB, config, url string, env ...string) *Nodes {
	t.Helper()
	l, err := ledger.OpenPostgres(context.Background(), url, ledger.PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := &Nodes{t: t, bin: Binary(t), config: config, root: t.TempDir(), env: env, ledger: l,
		procs: map[string]*exec.Cmd{}, logs: map[string]*os.File{}}
	t.Cleanup(func() {
		for name := range n.procs {
			n.Kill(name)
		}
		for _, f := range n.logs {
			f.Close()
		}
		l.Close()
	})
	return n
}

// Start starts (or restarts) the node; its output goes to its log.
func (n *Nodes) Start(name string) {
	n.t.Helper()
	if n.logs[name] == nil {
		f, err := os.Create(filepath.Join(n.root, name+".log"))
		if err != nil {
			n.t.Fatal(err)
		}
		n.logs[name] = f
	}
	cmd := exec.Command(n.bin, "run", "-config", n.config)
	cmd.Env = append(append(os.Environ(), n.env...), "FB_NODE="+name, "FB_DATA="+filepath.Join(n.root, "data-"+name))
	cmd.Stdout, cmd.Stderr = n.logs[name], n.logs[name]
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.procs[name] = cmd
}

// Kill kills the node with SIGKILL and waits for it.
func (n *Nodes) Kill(name string) { n.signal(name, syscall.SIGKILL) }

// StopAll stops every running node with SIGTERM and waits for them.
func (n *Nodes) StopAll() {
	for name := range n.procs {
		n.signal(name, syscall.SIGTERM)
	}
}

func (n *Nodes) signal(name string, sig syscall.Signal) {
	if cmd := n.procs[name]; cmd != nil {
		_ = cmd.Process.Signal(sig)
		_ = cmd.Wait()
		n.procs[name] = nil
	}
}

// Holder is the node running job now ("" when none).
func (n *Nodes) Holder(job string) string {
	n.t.Helper()
	ls, err := n.ledger.Leases(context.Background(), "job:"+job)
	if err != nil {
		n.t.Fatal(err)
	}
	for _, l := range ls {
		if l.Name == "job:"+job {
			return l.Holder
		}
	}
	return ""
}

// Log is the node's output so far.
func (n *Nodes) Log(name string) string {
	f := n.logs[name]
	if f == nil {
		return ""
	}
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

// LogTails is the end of every node's log, for a failure message.
func (n *Nodes) LogTails() string {
	names := make([]string, 0, len(n.logs))
	for name := range n.logs {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		s := n.Log(name)
		if len(s) > 1500 {
			s = s[len(s)-1500:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", name, s)
	}
	return b.String()
}
