package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
)

// newNode is one node of a test cluster on the PostgreSQL database url.
func newNode(t *testing.T, url, node, jobs string, reg *Registry, o EngineOptions) *testEngine {
	t.Helper()
	return newTestEngine(t, fmt.Sprintf("[ledger]\nurl = %q\nnode = %q\nlease = \"3s\"\n", url, node)+jobs, reg, o)
}

// runLog collects the runs of every node of a test cluster.
type runLog struct {
	mu   sync.Mutex
	runs []ranOn
}

type ranOn struct {
	node    string
	started time.Time
}

func (l *runLog) add(node string, started time.Time) {
	l.mu.Lock()
	l.runs = append(l.runs, ranOn{node, started})
	l.mu.Unlock()
}

func (l *runLog) all() []ranOn {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]ranOn(nil), l.runs...)
	sort.Slice(out, func(i, j int) bool { return out[i].started.Before(out[j].started) })
	return out
}

// clusterProbes builds n nodes whose job "tick" records its runs in log.
func clusterProbes(t *testing.T, n int, jobs string, log *runLog, work time.Duration) []*testEngine {
	t.Helper()
	url := ledgertest.PostgresURL(t)
	var nodes []*testEngine
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("node-%d", i+1)
		probe := &probeJob{fn: func(ctx context.Context, rc *RunContext) error {
			log.add(name, rc.Run.Started)
			select {
			case <-time.After(work):
			case <-ctx.Done():
			}
			return nil
		}}
		nodes = append(nodes, newNode(t, url, name, jobs, probeRegistry(map[string]*probeJob{"tick": probe}), EngineOptions{}))
	}
	return nodes
}

// TestClusterTickOncePerCluster: three nodes get each of a schedule's
// ticks at the same moment; each tick runs once, on one node, and the
// nodes that found the job held skip the tick once they get the lease.
func TestClusterTickOncePerCluster(t *testing.T) {
	var log runLog
	nodes := clusterProbes(t, 3, `
[[job]]
name = "tick"
kind = "probe"
schedule = "0 0 1 1 *"
catch_up = false
`, &log, 150*time.Millisecond)
	for _, n := range nodes {
		n.start()
		waitFor(t, "node ready", n.Ready)
	}
	const ticks = 5
	var dues []time.Time
	for i := 0; i < ticks; i++ {
		due := time.Now()
		dues = append(dues, due)
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.byName["tick"].triggerAt(trigger{reason: "schedule", due: due})
			}()
		}
		wg.Wait()
		time.Sleep(400 * time.Millisecond)
	}
	// The nodes that found the job held try again after a third of the
	// lease; let them, and find the tick done.
	time.Sleep(2500 * time.Millisecond)
	for _, n := range nodes {
		n.stop(t)
	}
	runs := log.all()
	if len(runs) != ticks {
		t.Fatalf("%d runs for %d ticks: %+v", len(runs), ticks, runs)
	}
	for i, due := range dues {
		n := 0
		for _, r := range runs {
			if !r.started.Before(due) && (i == ticks-1 || r.started.Before(dues[i+1])) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("tick %d ran %d times: %+v", i, n, runs)
		}
	}
}

// TestClusterCatchUpOnce: a daily run was missed while the whole cluster
// was down; the three nodes start together and it is caught up once.
func TestClusterCatchUpOnce(t *testing.T) {
	var log runLog
	at := time.Now().Add(-30 * time.Minute).UTC()
	nodes := clusterProbes(t, 3, fmt.Sprintf(`
[[job]]
name = "tick"
kind = "probe"
timezone = "UTC"
schedule = "%d %d * * *"
`, at.Minute(), at.Hour()), &log, 100*time.Millisecond)
	ctx := context.Background()
	r, err := nodes[0].Ledger().BeginRun(ctx, "tick", time.Now().Add(-50*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r.Outcome, r.Ended = ledger.OutcomeOK, time.Now().Add(-49*time.Hour)
	if err := nodes[0].Ledger().EndRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.start()
	}
	waitFor(t, "the catch-up run", func() bool { return len(log.all()) >= 1 })
	time.Sleep(2500 * time.Millisecond) // the others retry and skip
	for _, n := range nodes {
		n.stop(t)
	}
	if runs := log.all(); len(runs) != 1 {
		t.Fatalf("catch-up ran %d times: %+v", len(runs), runs)
	}
}

// frozenLedger is a node's view of the shared ledger that can stop
// renewing its leases, as a node does when its process is paused (a long
// GC, a frozen VM) or its network to the database is cut.
type frozenLedger struct {
	*ledger.Postgres
	frozen atomic.Bool
}

// Renew waits while the node is frozen (a paused process's timers do not
// fire either), and once woken lets the job's writes go first, so that
// only the database's fence can stop them.
func (f *frozenLedger) Renew(ctx context.Context, l ledger.Lease, ttl time.Duration) (ledger.Lease, error) {
	if f.frozen.Load() {
		for f.frozen.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return f.Postgres.Renew(context.WithoutCancel(ctx), l, ttl)
}

// TestClusterFencing: node 1 runs a job that writes an item every 50 ms
// and stops renewing its lease; once the lease expires, node 2 takes the
// job over, and no write of node 1 lands after node 2 got the lease —
// node 1's writes are refused with ErrLeaseLost and its run stops.
func TestClusterFencing(t *testing.T) {
	url := ledgertest.PostgresURL(t)
	ctx := context.Background()
	open := func() *frozenLedger {
		l, err := ledger.OpenPostgres(ctx, url, ledger.PostgresOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return &frozenLedger{Postgres: l}
	}
	l1, l2 := open(), open()
	var refused atomic.Int32
	var seq atomic.Int64
	writer := func(node string, l *frozenLedger) *probeJob {
		return &probeJob{fn: func(ctx context.Context, rc *RunContext) error {
			for {
				for l.frozen.Load() && ctx.Err() == nil { // the whole process is paused
					time.Sleep(10 * time.Millisecond)
				}
				n := seq.Add(1)
				err := rc.Ledger.PutItem(ctx, ledger.Item{Job: "fenced", Key: fmt.Sprintf("w%06d", n), Outcome: node, RunID: rc.Run.ID, Updated: time.Now()})
				if errors.Is(err, ledger.ErrLeaseLost) {
					refused.Add(1)
					return err
				}
				if err != nil && ctx.Err() == nil {
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
		}}
	}
	job := "\n[[job]]\nname = \"fenced\"\nkind = \"probe\"\n"
	n1 := newNode(t, url, "node-1", job, probeRegistry(map[string]*probeJob{"fenced": writer("node-1", l1)}), EngineOptions{Ledger: l1})
	n2 := newNode(t, url, "node-2", job, probeRegistry(map[string]*probeJob{"fenced": writer("node-2", l2)}), EngineOptions{Ledger: l2})

	rep1 := make(chan *RunReport, 1)
	go func() {
		r, err := n1.RunOnce(ctx, "fenced", false)
		if err != nil {
			t.Error(err)
		}
		rep1 <- r
	}()
	waitFor(t, "node 1 writing", func() bool { return seq.Load() > 3 })
	if _, err := n2.RunOnce(ctx, "fenced", false); !errors.Is(err, ErrBusy) {
		t.Fatalf("node 2 ran the job while node 1 held it: %v", err)
	}
	l1.frozen.Store(true)

	// Node 2 takes the job over once node 1's lease has expired.
	var taken time.Time
	rep2 := make(chan *RunReport, 1)
	deadline := time.Now().Add(15 * time.Second)
	for {
		lctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		r, err := n2.RunOnce(lctx, "fenced", false)
		if err == nil {
			taken = r.Run.Started
			rep2 <- r
			cancel()
			break
		}
		cancel()
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			t.Fatalf("node 2 never took the job over: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Node 1 wakes up: its next write is refused by the database.
	l1.frozen.Store(false)
	_ = <-rep2
	r1 := <-rep1
	if refused.Load() == 0 {
		t.Error("node 1's first write after waking was not refused by the ledger's fence")
	}
	if r1 == nil || r1.Run.Outcome != ledger.OutcomeStopped {
		t.Errorf("node 1's run: %+v", r1)
	}
	// No item written by node 1 after node 2 began.
	err := l2.ItemsWithPrefix(ctx, "fenced", "w", func(it ledger.Item) error {
		if it.Outcome == "node-1" && it.Updated.After(taken) {
			t.Errorf("node 1 wrote %s at %s, after node 2 took the job at %s", it.Key, it.Updated.Format(time.StampMilli), taken.Format(time.StampMilli))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClusterStatusAndMetrics: any node's status page and /metrics show
// the live nodes and which node runs a job.
func TestClusterStatusAndMetrics(t *testing.T) {
	var log runLog
	nodes := clusterProbes(t, 2, "[http]\ntoken = \"tok-cluster\"\n"+`
[[job]]
name = "tick"
kind = "probe"
`, &log, time.Minute) // the run lasts until cancelled below, however slow the checks are (-race)
	for _, n := range nodes {
		n.start()
		waitFor(t, "node ready", n.Ready)
	}
	rctx, cancelRun := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		nodes[1].RunOnce(rctx, "tick", false)
	}()
	defer func() { cancelRun(); <-ran }()
	waitFor(t, "the run on node 2", func() bool { return len(log.all()) == 1 })
	srv, err := NewServer(nodes[0].Engine)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	get := func(path string) string {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer tok-cluster")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var page, metrics string
	waitFor(t, "both nodes' heartbeats", func() bool {
		page = get("/")
		return strings.Contains(page, "node-1 (this one)") && strings.Contains(page, "node-2")
	})
	if !strings.Contains(page, "running on node-2") {
		t.Errorf("node 1's status page does not say node 2 runs the job:\n%s", page)
	}
	metrics = get("/metrics")
	for _, want := range []string{`fieldbridge_cluster_node_up{node="node-1"} 1`, `fieldbridge_cluster_node_up{node="node-2"} 1`,
		`fieldbridge_cluster_job_holder{job="tick",node="node-2"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics of node 1 lacks %s", want)
		}
	}
	cancelRun()
	<-ran
	for _, n := range nodes {
		n.stop(t)
	}
}
