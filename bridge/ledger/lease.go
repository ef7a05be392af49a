package ledger

import (
	"context"
	"errors"
	"time"
)

// ErrLeaseHeld is returned (wrapped) by Acquire when another holder has
// the lease and it has not expired.
var ErrLeaseHeld = errors.New("ledger: lease held by another node")

// ErrLeaseLost is returned (wrapped) when a lease presented is no longer
// current: it expired, or it was acquired again since (by another holder
// or by the same one after a restart). Work done under it must stop.
var ErrLeaseLost = errors.New("ledger: lease lost")

// Lease is a claim on a named resource ("job:boxes", "notify:<hash>") by
// one holder (a node) until Expires.
type Lease struct {
	Name   string
	Holder string
	// Token is the fencing token: it increases every time the lease is
	// acquired (not when it is renewed), so that a write presented with an
	// older token can be refused.
	Token int64
	// Expires is the lease's end by the ledger's clock (the database
	// server's, not the node's).
	Expires time.Time
	// Acquired is when this token was granted (the ledger's clock).
	Acquired time.Time
}

// Coordinator is implemented by a ledger shared by several nodes (the
// PostgreSQL ledger): leases with fencing, and one-time claims. Times are
// judged by the ledger's clock, so that nodes whose clocks drift agree.
type Coordinator interface {
	// Acquire grants the lease name to holder for ttl when it is free,
	// expired, or held by holder itself (a node that restarted takes its
	// own lease over): each grant has a new, larger Token. When another
	// holder has it and it has not expired, Acquire returns ErrLeaseHeld
	// (wrapped) and the current lease.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// Renew extends l to ttl from now if l is still current (same name,
	// holder and token, not expired); otherwise ErrLeaseLost.
	Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// Release ends l if it is still current; releasing a lost lease is not
	// an error.
	Release(ctx context.Context, l Lease) error
	// Leases lists the unexpired leases whose names start with prefix, by
	// name.
	Leases(ctx context.Context, prefix string) ([]Lease, error)
	// ClaimOnce records key for holder the first time it is asked and
	// reports true; every later call with the same key, by any holder,
	// reports false. It makes one thing happen once for the cluster (a
	// schedule's tick: "tick:boxes:2026-12-07T21:00:00Z").
	ClaimOnce(ctx context.Context, key, holder string) (bool, error)
	// Fenced returns a view of the ledger whose writes (BeginRun, EndRun,
	// PutFile, PutItem, PutItems, SetState) succeed only while l is
	// current: each write checks the lease in its own transaction and
	// fails with ErrLeaseLost (wrapped), writing nothing, once it is not.
	// Reads are not fenced. Closing the view does not close the ledger.
	Fenced(l Lease) Ledger
	// Now is the ledger's clock.
	Now(ctx context.Context) (time.Time, error)
}
