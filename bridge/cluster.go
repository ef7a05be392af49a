package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/prometheus/client_golang/prometheus"
)

// A cluster is several nodes running `fieldbridge run` with the same
// configuration on one PostgreSQL ledger ([ledger] url). The database is
// the only thing they share besides the folders and servers the jobs
// use; coordination is leases in it (ledger.Coordinator), judged by the
// database's clock:
//
//   - "job:<name>": a run of a job holds it for the whole run, renewing it
//     every third of [ledger] lease; another node's trigger finds it held
//     and tries again a little later. A node that dies loses it after the
//     lease, and the next node to take it resumes from the ledger, as a
//     restart after a crash does. Every ledger write of a run is fenced by
//     its lease: once lost, the run's writes fail and the run stops.
//   - a schedule's tick runs once for the cluster: the node that takes the
//     job first runs it; the others, when they get the lease, find a
//     completed run started at or after the tick and skip it. A missed
//     tick is caught up once the same way. An interval job skips a tick
//     when a run started within half an interval.
//   - "node:<name>": each node's heartbeat, for the status page and
//     /metrics.
//   - Env.Lock: a job's own short critical sections (an HTTP notification
//     posted to two nodes is written once).

// errSkipped is returned by execute for a tick another node already ran.
var errSkipped = errors.New("tick already run by another node")

// ErrHeldElsewhere is returned (wrapped) when another node holds a lease:
// by a run whose job runs on another node (with ErrBusy), and by Env.Hold.
var ErrHeldElsewhere = errors.New("held by another node")

// cluster is the engine's part in a cluster; nil for a single node.
type cluster struct {
	coord    ledger.Coordinator
	node     string
	instance string // this process: node/random
	lease    time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	dupWarn bool
}

func newCluster(l ledger.Ledger, cfg LedgerConfig, log *slog.Logger) (*cluster, error) {
	coord, ok := l.(ledger.Coordinator)
	if !ok {
		return nil, fmt.Errorf("the ledger %T cannot coordinate nodes", l)
	}
	node := cfg.Node
	if node == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return nil, fmt.Errorf("[ledger] node: no host name (%v); name the node", err)
		}
		node = h
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	lease := cfg.Lease.Duration
	if lease <= 0 {
		lease = 30 * time.Second
	}
	return &cluster{coord: coord, node: node, instance: node + "/" + hex.EncodeToString(b[:]), lease: lease, log: log}, nil
}

// jobLease is a held "job:<name>" lease and its renewer.
type jobLease struct {
	lease  ledger.Lease
	stop   chan struct{}
	done   chan struct{}
	cancel context.CancelCauseFunc
}

// acquireJob takes the job's lease for a run. It returns the run's
// context (cancelled with ErrLeaseLost if the lease is lost) and the
// lease; ErrBusy wrapping ErrHeldElsewhere when another node has it.
func (c *cluster) acquireJob(ctx context.Context, job string) (context.Context, *jobLease, error) {
	return c.hold(ctx, "job:"+job, job)
}

// hold takes the lease name and keeps it renewed (see acquireJob); job
// names the job in log lines.
func (c *cluster) hold(ctx context.Context, name, job string) (context.Context, *jobLease, error) {
	l, err := c.coord.Acquire(ctx, name, c.node, c.lease)
	if errors.Is(err, ledger.ErrLeaseHeld) {
		return nil, nil, fmt.Errorf("%w: %w (node %q, until %s)", ErrBusy, ErrHeldElsewhere, l.Holder, l.Expires.Format(time.RFC3339))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("taking the lease %s: %w", name, err)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	jl := &jobLease{lease: l, stop: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	go c.renew(rctx, job, jl)
	return rctx, jl, nil
}

// Held is a lease taken with Env.Hold.
type Held struct {
	// Ctx is cancelled, with a cause wrapping ledger.ErrLeaseLost, when
	// the lease is lost.
	Ctx context.Context
	// Ledger is the ledger fenced by the lease: its writes fail once the
	// lease is lost.
	Ledger ledger.Ledger
	c      *cluster
	jl     *jobLease
}

// Release gives the lease up.
func (h *Held) Release() { h.c.release(h.jl) }

// Clustered reports whether the job runs in a cluster of nodes sharing
// a PostgreSQL ledger.
func (e *Env) Clustered() bool { return e != nil && e.cluster != nil }

// Nodes is the number of live nodes of the cluster (1 for a single node).
func (e *Env) Nodes(ctx context.Context) int {
	if !e.Clustered() {
		return 1
	}
	ls, err := e.cluster.coord.Leases(ctx, "node:")
	if err != nil || len(ls) == 0 {
		return 1
	}
	return len(ls)
}

// Hold takes, in a cluster, the lease name (prefixed with the job's
// name) for this node, and keeps it renewed until Release: a part of a
// run's work that one node at a time may do (a block of a sheet's rows).
// It fails with ErrHeldElsewhere (wrapped) when another node holds it,
// and with an error when the job does not run in a cluster.
func (e *Env) Hold(ctx context.Context, job, name string) (*Held, error) {
	if !e.Clustered() {
		return nil, errors.New("not in a cluster")
	}
	c := e.cluster
	hctx, jl, err := c.hold(ctx, "part:"+job+":"+name, job)
	if err != nil {
		return nil, err
	}
	return &Held{Ctx: hctx, Ledger: c.coord.Fenced(jl.lease), c: c, jl: jl}, nil
}

// HeldParts lists the names (as given to Hold) of the job's leases held
// now by any node whose names start with prefix.
func (e *Env) HeldParts(ctx context.Context, job, prefix string) ([]string, error) {
	if !e.Clustered() {
		return nil, nil
	}
	p := "part:" + job + ":"
	ls, err := e.cluster.coord.Leases(ctx, p+prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, strings.TrimPrefix(l.Name, p))
	}
	return out, nil
}

// Assister is a job whose work other nodes of a cluster can share outside
// the job's lease (a big sheet's rows). Every second, each node that is
// not running the job asks AssistPending; when it reports work, the node
// runs Assist as a run of the job (trigger "assist").
type Assister interface {
	Job
	AssistPending(ctx context.Context) (bool, error)
	Assist(ctx context.Context, rc *RunContext) error
}

// renew keeps jl's lease until released; when the lease is lost, or
// cannot be renewed before it would expire, it cancels the run.
func (c *cluster) renew(ctx context.Context, job string, jl *jobLease) {
	defer close(jl.done)
	every := c.lease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	renewedAt := time.Now()
	for {
		select {
		case <-jl.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
		l, err := c.coord.Renew(rctx, jl.lease, c.lease)
		cancel()
		switch {
		case err == nil:
			jl.lease, renewedAt = l, time.Now()
		case errors.Is(err, ledger.ErrLeaseLost):
			c.log.Error("lost the job's lease (another node has it now); stopping the run", "job", job, "node", c.node)
			jl.cancel(err)
			return
		case time.Since(renewedAt) >= c.lease-every/2:
			c.log.Error("cannot renew the job's lease before it expires; stopping the run", "job", job, "err", err)
			jl.cancel(fmt.Errorf("%w: %w", ledger.ErrLeaseLost, err))
			return
		default:
			c.log.Warn("could not renew the job's lease; retrying", "job", job, "err", err)
		}
	}
}

// release stops the renewer and gives the lease up.
func (c *cluster) release(jl *jobLease) {
	close(jl.stop)
	<-jl.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.coord.Release(ctx, jl.lease); err != nil {
		c.log.Warn("could not release the job's lease (it expires by itself)", "job", strings.TrimPrefix(jl.lease.Name, "job:"), "err", err)
	}
	jl.cancel(nil)
}

// heartbeat holds "node:<name>" while the daemon runs, so that every node
// can list the live ones.
func (c *cluster) heartbeat(ctx context.Context) {
	var cur *ledger.Lease
	beat := func() {
		bctx, cancel := context.WithTimeout(ctx, c.lease/3)
		defer cancel()
		if cur != nil {
			if l, err := c.coord.Renew(bctx, *cur, c.lease); err == nil {
				cur = &l
				return
			}
		}
		l, err := c.coord.Acquire(bctx, "node:"+c.node, c.instance, c.lease)
		switch {
		case err == nil:
			cur = &l
		case errors.Is(err, ledger.ErrLeaseHeld):
			c.mu.Lock()
			warn := !c.dupWarn
			c.dupWarn = true
			c.mu.Unlock()
			if warn {
				// A restart within the lease finds its previous self; a
				// second live process keeps renewing.
				c.log.Warn("another process holds this node's name; if it is not this node's previous run, give each node its own [ledger] node", "node", c.node, "other", l.Holder)
			}
		default:
			c.log.Warn("cluster heartbeat failed", "err", err)
		}
	}
	beat()
	t := time.NewTicker(c.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if cur != nil {
				rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = c.coord.Release(rctx, *cur)
				cancel()
			}
			return
		case <-t.C:
			beat()
		}
	}
}

// lock is Env.Lock in a cluster: a lease named "lock:<job>:<name>", waited
// for.
func (c *cluster) lock(ctx context.Context, job, name string) (func(), error) {
	key := "lock:" + job + ":" + name
	wait := 10 * time.Millisecond
	for {
		l, err := c.coord.Acquire(ctx, key, c.instance, c.lease)
		if err == nil {
			return func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = c.coord.Release(rctx, l)
			}, nil
		}
		if !errors.Is(err, ledger.ErrLeaseHeld) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// NodeStatus is one live node of a cluster.
type NodeStatus struct {
	Name  string
	Since time.Time // when its heartbeat lease was granted
	Self  bool
}

// ClusterStatus is what the status page and /metrics show of a cluster.
type ClusterStatus struct {
	Node  string
	Nodes []NodeStatus
	// Holders maps a job to the node running it now.
	Holders map[string]ledger.Lease
}

// Cluster returns the cluster's state as the ledger knows it; ok is false
// for a single node.
func (e *Engine) Cluster(ctx context.Context) (ClusterStatus, bool, error) {
	c := e.cluster
	if c == nil {
		return ClusterStatus{}, false, nil
	}
	st := ClusterStatus{Node: c.node, Holders: map[string]ledger.Lease{}}
	nodes, err := c.coord.Leases(ctx, "node:")
	if err != nil {
		return st, true, err
	}
	for _, l := range nodes {
		st.Nodes = append(st.Nodes, NodeStatus{Name: strings.TrimPrefix(l.Name, "node:"), Since: l.Acquired, Self: l.Holder == c.instance})
	}
	jobs, err := c.coord.Leases(ctx, "job:")
	if err != nil {
		return st, true, err
	}
	for _, l := range jobs {
		st.Holders[strings.TrimPrefix(l.Name, "job:")] = l
	}
	return st, true, nil
}

// clusterCollector exports the cluster's state on every node's /metrics,
// read from the ledger at scrape time.
type clusterCollector struct {
	e                    *Engine
	nodes, holder, ended *prometheus.Desc
}

func newClusterCollector(e *Engine) *clusterCollector {
	return &clusterCollector{e: e,
		nodes:  prometheus.NewDesc("fieldbridge_cluster_node_up", "1 for each node whose heartbeat is current.", []string{"node"}, nil),
		holder: prometheus.NewDesc("fieldbridge_cluster_job_holder", "1 for the node running the job now (its lease).", []string{"job", "node"}, nil),
		ended:  prometheus.NewDesc("fieldbridge_cluster_last_run_end_timestamp_seconds", "End of the job's last completed run on any node (lag: now minus this).", []string{"job"}, nil),
	}
}

func (cc *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cc.nodes
	ch <- cc.holder
	ch <- cc.ended
}

func (cc *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, ok, err := cc.e.Cluster(ctx)
	if !ok || err != nil {
		return
	}
	for _, n := range st.Nodes {
		ch <- prometheus.MustNewConstMetric(cc.nodes, prometheus.GaugeValue, 1, n.Name)
	}
	for job, l := range st.Holders {
		ch <- prometheus.MustNewConstMetric(cc.holder, prometheus.GaugeValue, 1, job, l.Holder)
	}
	for _, js := range cc.e.currentJobs() {
		name := js.cfg.Spec.Name
		if r, err := cc.e.ledger.LastRun(ctx, name, ledger.OutcomeOK, ledger.OutcomePartial, ledger.OutcomeFailed); err == nil && !r.Ended.IsZero() {
			ch <- prometheus.MustNewConstMetric(cc.ended, prometheus.GaugeValue, float64(r.Ended.Unix()), name)
		}
	}
}
