//go:build unix

package sheets

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
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
	*bridgetest.Nodes
	t     *testing.T
	inbox string
	fake  *officetracktest.Server
}

func newCluster(t *testing.T, latency time.Duration) *cluster {
	t.Helper()
	url := ledgertest.PostgresURL(t)
	root := t.TempDir()
	c := &cluster{t: t, inbox: filepath.Join(root, "inbox")}
	c.fake = officetracktest.NewServer(officetracktest.Options{Latency: latency})
	t.Cleanup(c.fake.Close)
	maps := filepath.Join(root, "mappings")
	for _, d := range []string{c.inbox, maps} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(maps, "tarefas.toml"), []byte(tasksMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "config.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(clusterConfig, url, c.fake.URL, maps, c.inbox)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Nodes = bridgetest.NewNodes(t, cfg, url, "OT_PASSWORD=s3cret")
	return c
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
			c.t.Fatalf("%d of %d sheets not settled; %d tasks; logs:\n%s", left, len(names), c.fake.TaskCount(), c.LogTails())
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
		c.Start(n)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for i := 0; i < 4; i++ {
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		victim := c.Holder("tarefas")
		if victim == "" {
			victim = nodeNames[rng.IntN(len(nodeNames))]
		}
		c.Kill(victim)
		c.Start(victim)
	}
	c.waitSettled(names, 3*time.Minute)
	c.StopAll()
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
		c.Start(n)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	kills := 0
	for kills < 4 {
		time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		if _, err := os.Stat(filepath.Join(c.inbox, "done", name)); err == nil {
			break
		}
		victim := c.Holder("tarefas")
		if victim == "" {
			continue
		}
		c.Kill(victim)
		c.Start(victim)
		kills++
	}
	c.waitSettled([]string{name}, 3*time.Minute)
	c.StopAll()
	t.Logf("%d kills; %d CreateOrUpdateTask, %d GetTaskDetails", kills, c.fake.Calls("CreateOrUpdateTask"), c.fake.Calls("GetTaskDetails"))
	c.exactlyOnce(rows)
	// The rows went out from several nodes: the sheet was shared, and
	// other nodes' assist runs sent some of them.
	helped := 0
	for _, n := range nodeNames {
		if strings.Contains(c.Log(n), "trigger=assist") {
			helped++
		}
	}
	if helped == 0 {
		t.Errorf("no node helped send the sheet; logs:\n%s", c.LogTails())
	}
}
