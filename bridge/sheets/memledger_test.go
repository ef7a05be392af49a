package sheets

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// memLedger is a minimal in-memory ledger.Ledger for unit tests of the
// sending logic (the end-to-end tests use the engine's SQLite ledger).
type memLedger struct {
	mu    sync.Mutex
	items map[string]ledger.Item
	files []ledger.File
	puts  int
}

func newMemLedger() *memLedger { return &memLedger{items: map[string]ledger.Item{}} }

func (m *memLedger) BeginRun(ctx context.Context, job string, started time.Time) (ledger.Run, error) {
	return ledger.Run{ID: 1, Job: job, Started: started, Outcome: ledger.OutcomeRunning}, nil
}
func (m *memLedger) EndRun(ctx context.Context, r ledger.Run) error { return nil }
func (m *memLedger) Runs(ctx context.Context, f ledger.RunFilter) ([]ledger.Run, error) {
	return nil, nil
}
func (m *memLedger) LastRun(ctx context.Context, job string, outcomes ...string) (ledger.Run, error) {
	return ledger.Run{}, ledger.ErrNotFound
}
func (m *memLedger) PutFile(ctx context.Context, f *ledger.File) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.ID == 0 {
		f.ID = int64(len(m.files) + 1)
		m.files = append(m.files, *f)
		return nil
	}
	m.files[f.ID-1] = *f
	return nil
}
func (m *memLedger) FileByName(ctx context.Context, job, source, name string) (ledger.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.files) - 1; i >= 0; i-- {
		if f := m.files[i]; f.Job == job && f.Source == source && f.Name == name {
			return f, nil
		}
	}
	return ledger.File{}, ledger.ErrNotFound
}
func (m *memLedger) FileBySHA256(ctx context.Context, job, sha string, states ...string) (ledger.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.files) - 1; i >= 0; i-- {
		f := m.files[i]
		if f.Job != job || f.SHA256 != sha {
			continue
		}
		if len(states) == 0 {
			return f, nil
		}
		for _, s := range states {
			if f.State == s {
				return f, nil
			}
		}
	}
	return ledger.File{}, ledger.ErrNotFound
}
func (m *memLedger) Files(ctx context.Context, f ledger.FileFilter) ([]ledger.File, error) {
	return nil, nil
}
func (m *memLedger) GetItem(ctx context.Context, job, key string) (ledger.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[job+"\x00"+key]
	if !ok {
		return it, ledger.ErrNotFound
	}
	return it, nil
}
func (m *memLedger) PutItem(ctx context.Context, it ledger.Item) error {
	return m.PutItems(ctx, []ledger.Item{it})
}
func (m *memLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	for _, it := range items {
		m.items[it.Job+"\x00"+it.Key] = it
	}
	return nil
}
func (m *memLedger) ItemsWithPrefix(ctx context.Context, job, prefix string, fn func(ledger.Item) error) error {
	m.mu.Lock()
	var out []ledger.Item
	for k, it := range m.items {
		if strings.HasPrefix(k, job+"\x00"+prefix) {
			out = append(out, it)
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	for _, it := range out {
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}
func (m *memLedger) State(ctx context.Context, job, name string) (string, error) {
	return "", ledger.ErrNotFound
}
func (m *memLedger) SetState(ctx context.Context, job, name, value string) error { return nil }
func (m *memLedger) Close() error                                                { return nil }
