package boxsync_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// memLedger is a minimal in-memory ledger.Ledger for the job's tests.
type memLedger struct {
	mu    sync.Mutex
	items map[string]ledger.Item
	state map[string]string
	runs  []ledger.Run
	puts  int
}

func newMemLedger() *memLedger {
	return &memLedger{items: map[string]ledger.Item{}, state: map[string]string{}}
}

func (m *memLedger) BeginRun(_ context.Context, job string, started time.Time) (ledger.Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := ledger.Run{ID: int64(len(m.runs) + 1), Job: job, Started: started, Outcome: ledger.OutcomeRunning}
	m.runs = append(m.runs, r)
	return r, nil
}
func (m *memLedger) EndRun(_ context.Context, r ledger.Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs[r.ID-1] = r
	return nil
}
func (m *memLedger) Runs(context.Context, ledger.RunFilter) ([]ledger.Run, error) { return nil, nil }
func (m *memLedger) LastRun(context.Context, string, ...string) (ledger.Run, error) {
	return ledger.Run{}, ledger.ErrNotFound
}
func (m *memLedger) PutFile(context.Context, *ledger.File) error { return errors.New("unused") }
func (m *memLedger) FileByName(context.Context, string, string, string) (ledger.File, error) {
	return ledger.File{}, ledger.ErrNotFound
}
func (m *memLedger) FileBySHA256(context.Context, string, string, ...string) (ledger.File, error) {
	return ledger.File{}, ledger.ErrNotFound
}
func (m *memLedger) Files(context.Context, ledger.FileFilter) ([]ledger.File, error) { return nil, nil }
func (m *memLedger) GetItem(_ context.Context, job, key string) (ledger.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[job+"\x00"+key]
	if !ok {
		return ledger.Item{}, ledger.ErrNotFound
	}
	return it, nil
}
func (m *memLedger) PutItem(_ context.Context, it ledger.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[it.Job+"\x00"+it.Key] = it
	m.puts++
	return nil
}
func (m *memLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	for _, it := range items {
		if err := m.PutItem(ctx, it); err != nil {
			return err
		}
	}
	return nil
}
func (m *memLedger) ItemsWithPrefix(_ context.Context, job, prefix string, fn func(ledger.Item) error) error {
	m.mu.Lock()
	var list []ledger.Item
	for k, it := range m.items {
		if strings.HasPrefix(k, job+"\x00"+prefix) {
			list = append(list, it)
		}
	}
	m.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	for _, it := range list {
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}
func (m *memLedger) State(_ context.Context, job, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.state[job+"\x00"+name]
	if !ok {
		return "", ledger.ErrNotFound
	}
	return v, nil
}
func (m *memLedger) SetState(_ context.Context, job, name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state[job+"\x00"+name] = value
	return nil
}
func (m *memLedger) Close() error { return nil }

// crashLedger passes writes through until budget items were stored, then
// fails every write: the process "died" right after Sytex applied a change
// and before the ledger recorded it.
type crashLedger struct {
	ledger.Ledger
	mu     sync.Mutex
	budget int
}

var errCrash = errors.New("simulated crash")

func (c *crashLedger) take(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.budget < n {
		c.budget = 0
		return false
	}
	c.budget -= n
	return true
}
func (c *crashLedger) PutItem(ctx context.Context, it ledger.Item) error {
	if !c.take(1) {
		return errCrash
	}
	return c.Ledger.PutItem(ctx, it)
}
func (c *crashLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	if !c.take(len(items)) {
		return errCrash
	}
	return c.Ledger.PutItems(ctx, items)
}
