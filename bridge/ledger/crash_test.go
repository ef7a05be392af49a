package ledger_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// TestKill9KeepsAcknowledgedWrites kills (SIGKILL) a process that writes
// items one by one and prints each after PutItem returned: after reopening,
// every acknowledged item is there, and the database is sound.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	if p := os.Getenv("LEDGER_CHILD_DB"); p != "" {
		childWriter(p)
		return
	}
	path := filepath.Join(t.TempDir(), "l.db")
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9KeepsAcknowledgedWrites$")
		cmd.Env = append(os.Environ(), "LEDGER_CHILD_DB="+path, "LEDGER_CHILD_ROUND="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var acked []string
		stopAt := 200 + round*137
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "ACK ") {
				continue
			}
			acked = append(acked, strings.TrimPrefix(line, "ACK "))
			if len(acked) == stopAt {
				cmd.Process.Kill()
				break
			}
		}
		cmd.Wait()
		if len(acked) < stopAt {
			t.Fatalf("round %d: child acknowledged only %d items", round, len(acked))
		}
		l, err := ledger.OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		for _, k := range acked {
			if _, err := l.GetItem(context.Background(), "crash", k); err != nil {
				t.Fatalf("round %d: acknowledged item %s lost: %v", round, k, err)
			}
		}
		runs, err := l.Runs(context.Background(), ledger.RunFilter{Job: "crash"})
		if err != nil || len(runs) != round+1 || runs[0].Outcome != ledger.OutcomeRunning {
			t.Fatalf("round %d: runs = %+v, %v", round, runs, err)
		}
		if err := l.IntegrityCheck(context.Background()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func childWriter(path string) {
	ctx := context.Background()
	l, err := ledger.OpenSQLite(ctx, path)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	run, err := l.BeginRun(ctx, "crash", time.Now())
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		key := fmt.Sprintf("r%s-%06d", os.Getenv("LEDGER_CHILD_ROUND"), i)
		if err := l.PutItem(ctx, ledger.Item{Job: "crash", Key: key, Outcome: "sent", RunID: run.ID}); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Fprintln(w, "ACK", key)
		w.Flush()
	}
}
