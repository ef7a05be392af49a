package results

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	neturl "net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// TestClusterNotificationOnce: the same OfficeTrack notification posted to
// two nodes at once (a load balancer retrying on the other node), twenty
// times over, is written to the shared customer folder once.
func TestClusterNotificationOnce(t *testing.T) {
	url := ledgertest.PostgresURL(t)
	root := t.TempDir()
	customer := filepath.Join(root, "customer")
	var urls []string
	for i := 1; i <= 2; i++ {
		text := fmt.Sprintf(`data_dir = %q
[http]
token = "server-token-123"
[ledger]
url = %q
node = "node-%d"
lease = "3s"
[[job]]
name = "field-results"
kind = "officetrack-results"
target_dir = %q
[job.notifications]
path = "/officetrack/notify"
token = %q
`, filepath.Join(root, fmt.Sprintf("data-%d", i)), url, i, customer, testToken)
		cfg, err := bridge.ParseConfig(filepath.Join(root, "config.toml"), []byte(text), registry())
		if err != nil {
			t.Fatal(err)
		}
		e, err := bridge.NewEngine(context.Background(), bridge.EngineOptions{Config: cfg, Registry: registry(),
			Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		srv, err := bridge.NewServer(e)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		urls = append(urls, ts.URL+"/officetrack/notify?token="+neturl.QueryEscape(testToken))
	}
	for i := 0; i < 20; i++ {
		doc := officetracktest.FieldResultNotificationXML(event(i))
		var wg sync.WaitGroup
		for _, u := range urls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := officetracktest.FieldResultPostNotification(context.Background(), nil, u, doc); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	if got := tree(t, filepath.Join(customer, "notifications")); len(got) != 20 {
		t.Fatalf("%d files for 20 notifications posted to two nodes each: %v", len(got), keys(got))
	}
}
