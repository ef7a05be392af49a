//go:build unix

package results

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// clusterPickupConfig is one file for the three nodes: OfficeTrack's export
// folder and the customer's folder are shared; the data folder and the
// node's name come from the environment.
const clusterPickupConfig = `data_dir = "${FB_DATA}"
language = "en"

[http]
listen = "off"

[ledger]
url = %q
node = "${FB_NODE}"
lease = "3s"

[connections.export]
type = "local"
root = %q

[[job]]
name = "field-results"
kind = "officetrack-results"
interval = "1s"
source = "export"
recursive = true
min_age = "100ms"
after = "delete"
target_dir = %q
connections = 1
`

// TestClusterPickupKill9: three `fieldbridge run` nodes on one PostgreSQL
// ledger collect 600 field results from one export folder into one
// customer folder; whichever node holds the job is killed with -9, ten
// times, and restarted. The files arrive in ten waves, one after each kill,
// so that the pickup always has work when the next kill comes (written all
// at once, they were all taken within two or three kills). At the end: every file in the customer's folder
// once and whole, no second copy, no temporary left, the export folder
// empty.
func TestClusterPickupKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the cluster kill -9 test")
	}
	url := ledgertest.PostgresURL(t)
	root := t.TempDir()
	export, customer := filepath.Join(root, "export"), filepath.Join(root, "customer")
	files := officetracktest.FieldResultFiles(600, 60_000, 4)
	const waves = 10
	wave := 0
	nextWave := func() {
		per := len(files) / waves
		for _, fl := range files[wave*per : (wave+1)*per] {
			writeFile(t, export, fl.Path, string(fl.Content))
		}
		wave++
	}
	nextWave()
	cfg := filepath.Join(root, "config.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(clusterPickupConfig, url, export, customer)), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes := bridgetest.NewNodes(t, cfg, url)
	holder := func() string { return nodes.Holder("field-results") }
	names := []string{"node-1", "node-2", "node-3"}
	for _, n := range names {
		nodes.Start(n)
	}
	left := func() int { return len(tree(t, export)) }
	kills := 0
	for deadline := time.Now().Add(time.Minute); kills < 10 && (left() > 0 || wave < waves) && time.Now().Before(deadline); {
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		// Wait for a run in progress, then kill its node at a random
		// moment of it.
		victim := ""
		for spin := time.Now().Add(3 * time.Second); victim == "" && time.Now().Before(spin); {
			if victim = holder(); victim == "" {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if victim == "" {
			continue
		}
		time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond)
		nodes.Kill(victim)
		kills++
		nodes.Start(victim)
		if wave < waves {
			nextWave()
		}
	}
	for wave < waves {
		nextWave()
	}
	deadline := time.Now().Add(90 * time.Second)
	for left() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a run in progress records what it took
	nodes.StopAll()
	if l := tree(t, export); len(l) != 0 {
		t.Fatalf("%d files left in the export folder after %d kills: %v\n%s", len(l), kills, keys(l)[:min(5, len(l))], nodes.LogTails())
	}
	got := visible(t, customer)
	for _, fl := range files {
		if got[fl.Path] != string(fl.Content) {
			t.Fatalf("%s missing or different after %d kills", fl.Path, kills)
		}
	}
	if len(got) != len(files) {
		t.Fatalf("%d files in the customer's folder for %d after %d kills (second copies)", len(got), len(files), kills)
	}
	if n := len(tree(t, customer)) - len(got); n != 0 {
		t.Fatalf("%d temporary files left in the customer's folder after %d kills", n, kills)
	}
	t.Logf("%d files, %d kills of the node holding the job", len(files), kills)
	if kills < 3 {
		t.Fatalf("only %d kills hit a node running the pickup: the drill proves little", kills)
	}
}
