package sheets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// clusterConfig is one file for every node: the data folder and the
// node's name come from the environment.
const clusterConfig = `data_dir = "${FB_DATA}"
language = "en"

[http]
listen = "off"

[ledger]
url = %q
node = "${FB_NODE}"
lease = "3s"

[connections.ot]
type = "officetrack"
url = %q
user_name = "bridge"
password = "${OT_PASSWORD}"
retry_backoff = "20ms"
max_backoff = "200ms"

[[job]]
name = "tarefas"
kind = "sheet-officetrack"
officetrack = "ot"
mappings = %q
min_age = "100ms"
rescan = "300ms"

[[job.inbox]]
path = %q
mapping = "tarefas"
`

// cluster is three `fieldbridge run` processes on one PostgreSQL ledger
// and one shared inbox.
type cluster struct {
	t     *testing.T
	bin   string
	cfg   string
	root  string
	inbox string
	fake  *officetracktest.Server
	led   *ledger.Postgres
	nodes map[string]*exec.Cmd
	logs  map[string]*os.File
}

func newCluster(t *testing.T, latency time.Duration) *cluster {
	t.Helper()
	url := ledgertest.PostgresURL(t)
	c := &cluster{t: t, bin: buildBinary(t), root: t.TempDir(), nodes: map[string]*exec.Cmd{}, logs: map[string]*os.File{}}
	c.fake = officetracktest.NewServer(officetracktest.Options{Latency: latency})
	t.Cleanup(c.fake.Close)
	led, err := ledger.OpenPostgres(context.Background(), url, ledger.PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	c.led = led
	c.inbox = filepath.Join(c.root, "inbox")
	maps := filepath.Join(c.root, "mappings")
	for _, d := range []string{c.inbox, maps} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(maps, "tarefas.toml"), []byte(tasksMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	c.cfg = filepath.Join(c.root, "config.toml")
	if err := os.WriteFile(c.cfg, []byte(fmt.Sprintf(clusterConfig, url, c.fake.URL, maps, c.inbox)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, cmd := range c.nodes {
			if cmd != nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}
		for _, f := range c.logs {
			f.Close()
		}
	})
	return c
}

// start starts (or restarts) the node.
func (c *cluster) start(node string) {
	c.t.Helper()
	if c.logs[node] == nil {
		f, err := os.Create(filepath.Join(c.root, node+".log"))
		if err != nil {
			c.t.Fatal(err)
		}
		c.logs[node] = f
	}
	cmd := exec.Command(c.bin, "run", "-config", c.cfg)
	cmd.Env = append(os.Environ(), "OT_PASSWORD=s3cret", "FB_NODE="+node, "FB_DATA="+filepath.Join(c.root, "data-"+node))
	cmd.Stdout, cmd.Stderr = c.logs[node], c.logs[node]
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.nodes[node] = cmd
}

func (c *cluster) kill(node string) {
	if cmd := c.nodes[node]; cmd != nil {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		c.nodes[node] = nil
	}
}

// holder is the node running the job now ("" when none).
func (c *cluster) holder() string {
	ls, err := c.led.Leases(context.Background(), "job:tarefas")
	if err != nil {
		c.t.Fatal(err)
	}
	for _, l := range ls {
		if l.Name == "job:tarefas" {
			return l.Holder
		}
	}
	return ""
}

func (c *cluster) stopAll() {
	for node, cmd := range c.nodes {
		if cmd != nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			c.nodes[node] = nil
		}
	}
}

func (c *cluster) logTail() string {
	var b strings.Builder
	for node, f := range c.logs {
		data, _ := os.ReadFile(f.Name())
		fmt.Fprintf(&b, "--- %s\n%s\n", node, tail(string(data), 1500))
	}
	return b.String()
}

// waitSettled waits until every name is in done/ with its report.
func (c *cluster) waitSettled(names []string, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := 0
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(c.inbox, "done", n+".report.xlsx")); err != nil {
				left++
			} else if _, err := os.Stat(filepath.Join(c.inbox, "done", n)); err != nil {
				left++
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d of %d sheets not settled; %d tasks; logs:\n%s", left, len(names), c.fake.TaskCount(), c.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exactlyOnce asserts one task per number 1..rows, each applied once.
func (c *cluster) exactlyOnce(rows int) {
	c.t.Helper()
	if n := c.fake.TaskCount(); n != rows {
		c.t.Fatalf("%d tasks, want %d", n, rows)
	}
	twice := 0
	for n := int64(1); n <= int64(rows); n++ {
		switch k := c.fake.TaskCalls(n); {
		case k == 0:
			c.t.Fatalf("task %d missing", n)
		case k > 1:
			twice++
			if twice <= 5 {
				c.t.Errorf("task %d applied %d times", n, k)
			}
		}
	}
	if twice > 0 {
		c.t.Fatalf("%d tasks applied more than once", twice)
	}
	left, _ := os.ReadDir(filepath.Join(c.inbox, "processing"))
	if len(left) > 0 {
		c.t.Fatalf("%d files still in processing/", len(left))
	}
}

var nodeNames = []string{"node-1", "node-2", "node-3"}

// TestClusterSharedInbox600: three nodes on one PostgreSQL ledger watch
// one inbox where 600 sheets arrive; nodes are killed with -9 and
// restarted meanwhile. Every sheet is settled once (in done/ with its
// report, none left in processing/), every row is one task applied once.
func TestClusterSharedInbox600(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the cluster kill -9 test")
	}
	const files = 600
	c := newCluster(t, 2*time.Millisecond)
	var names []string
	for i := 0; i < files; i++ {
		name := fmt.Sprintf("tarefas-%03d.xlsx", i)
		names = append(names, name)
		if err := os.WriteFile(filepath.Join(c.inbox, name), xlsxRows(t, goodRows(1, i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodeNames {
		c.start(n)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for i := 0; i < 4; i++ {
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		victim := c.holder()
		if victim == "" {
			victim = nodeNames[rng.IntN(len(nodeNames))]
		}
		c.kill(victim)
		c.start(victim)
	}
	c.waitSettled(names, 3*time.Minute)
	c.stopAll()
	c.exactlyOnce(files)
}

// TestClusterKill9BigSheet: a 3,000-row sheet in the shared inbox; the
// node sending it is killed with -9 again and again (whichever holds the
// job), another takes it over after the lease, and the sheet ends in
// done/ with every row one task applied once.
func TestClusterKill9BigSheet(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the cluster kill -9 test")
	}
	const rows = 3000
	c := newCluster(t, 20*time.Millisecond)
	c.fake.FailEvery(17, officetracktest.FaultLostAnswer)
	name := "tarefas-3000.xlsx"
	if err := os.WriteFile(filepath.Join(c.inbox, name), xlsxRows(t, goodRows(rows, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodeNames {
		c.start(n)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	kills := 0
	for kills < 4 {
		time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		if _, err := os.Stat(filepath.Join(c.inbox, "done", name)); err == nil {
			break
		}
		victim := c.holder()
		if victim == "" {
			continue
		}
		c.kill(victim)
		c.start(victim)
		kills++
	}
	c.waitSettled([]string{name}, 3*time.Minute)
	c.stopAll()
	t.Logf("%d kills; %d CreateOrUpdateTask, %d GetTaskDetails", kills, c.fake.Calls("CreateOrUpdateTask"), c.fake.Calls("GetTaskDetails"))
	c.exactlyOnce(rows)
	// The rows went out from several nodes: the sheet was shared, and
	// other nodes' assist runs sent some of them.
	helped := 0
	for _, f := range c.logs {
		b, _ := os.ReadFile(f.Name())
		if strings.Contains(string(b), "trigger=assist") {
			helped++
		}
	}
	if helped == 0 {
		t.Errorf("no node helped send the sheet; logs:\n%s", c.logTail())
	}
}
