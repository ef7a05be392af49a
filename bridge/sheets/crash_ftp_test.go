package sheets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

const crashFTPConfig = `data_dir = %q
language = "en"

[http]
listen = "off"

[connections.ot]
type = "officetrack"
url = %q
user_name = "bridge"
password = "${OT_PASSWORD}"

[connections.ot-ftp]
type = "ftp"
host = %q
port = %d
user = %q
password = "${FTP_PASSWORD}"
root = %q
tls = "none"

[[job]]
name = "tarefas"
kind = "sheet-officetrack"
officetrack = "ot"
mappings = %q
min_age = "100ms"
rescan = "200ms"
delivery = "ftp"

[job.ftp]
connection = "ot-ftp"
folder = "import"
columns = [{ header = "NumeroTarefa", field = "TaskNumber" }, { header = "Descricao", field = "Description" }]

[[job.inbox]]
path = %q
mapping = "tarefas"
`

// TestCrashKill9FTPDelivery kills the daemon (`fieldbridge run`, a real
// subprocess) with SIGKILL at random moments ten times while it turns 16
// sheets into import files on the real vsftpd, where a stand-in for
// OfficeTrack's loader imports each file into the fake OfficeTrack and
// removes it; then lets it finish. Every task is imported exactly once (an
// upload cut short is looked for on the server, then in OfficeTrack, not
// made twice), a copy of a sheet under another name uploads nothing, no
// temporary file is left in the import folder, and every sheet is in
// done/ with its report.
func TestCrashKill9FTPDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the kill -9 test")
	}
	const sheets, rows, kills = 16, 300, 10
	fo, srv := transporttest.FTP(t)
	importDir := srv.MkdirAll(t, "import")
	bin := buildBinary(t)
	fake := officetracktest.NewServer(officetracktest.Options{})
	defer fake.Close()

	root, inbox, data, maps := crashDirs(t)
	cfg := filepath.Join(root, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(crashFTPConfig, data, fake.URL, fo.Host, fo.Port, fo.User, fo.Root, maps, inbox)), 0o600)
	names := []string{}
	for i := range sheets {
		name := fmt.Sprintf("tarefas-%02d.xlsx", i)
		names = append(names, name)
		if err := os.WriteFile(filepath.Join(inbox, name), xlsxRows(t, goodRows(rows, 10000+i*rows)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The first sheet's rows again, in another file: nothing new.
	names = append(names, "tarefas-copia.xlsx")
	if err := os.WriteFile(filepath.Join(inbox, "tarefas-copia.xlsx"), xlsxRows(t, goodRows(rows, 10000)[:rows/2]), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newCrashDaemon(t, bin, cfg, "OT_PASSWORD=s3cret", "FTP_PASSWORD="+fo.Password)
	settled := func() int {
		n := 0
		for _, name := range names {
			if _, err := os.Stat(filepath.Join(inbox, "done", name+".report.xlsx")); err == nil {
				n++
			}
		}
		return n
	}
	// The loader: every 20 ms it imports the finished files (not the
	// hidden temporaries) and removes them.
	ot, err := officetrack.New(fake.ClientOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var files atomic.Int64
	loaderErr := make(chan error, 1)
	stopLoader := make(chan struct{})
	loaderDone := make(chan struct{})
	load := func() error {
		ents, err := os.ReadDir(importDir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(importDir, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\r\n")
			for _, l := range lines[1:] {
				num, desc, _ := strings.Cut(l, ";")
				n, err := strconv.ParseInt(num, 10, 64)
				if err != nil {
					return fmt.Errorf("%s: line %q", e.Name(), l)
				}
				if _, _, err := ot.CreateOrUpdateTaskOnce(context.Background(), officetrack.Task{TaskNumber: &n, Description: &desc}); err != nil {
					return err
				}
			}
			files.Add(1)
			if err := os.Remove(p); err != nil {
				return err
			}
		}
		return nil
	}
	go func() {
		defer close(loaderDone)
		for {
			select {
			case <-stopLoader:
				loaderErr <- load()
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := load(); err != nil {
				loaderErr <- err
				return
			}
		}
	}()
	var atKill []int
	d.killAtRandom(kills, 150*time.Millisecond, 600*time.Millisecond, func() { atKill = append(atKill, settled()) })
	t.Logf("sheets settled at each kill: %v", atKill)
	d.finish("tarefas", func() bool { return settled() == len(names) },
		func() string { return fmt.Sprintf("%d of %d sheets settled", settled(), len(names)) })

	close(stopLoader)
	<-loaderDone
	if err := <-loaderErr; err != nil {
		t.Fatalf("the loader: %v", err)
	}
	// Every task imported exactly once; nothing left in the folder.
	if n := files.Load(); n != sheets {
		t.Errorf("the loader took %d import files, want %d (one per sheet, none for the copy)", n, sheets)
	}
	if n := fake.TaskCount(); n != sheets*rows {
		t.Errorf("%d tasks in OfficeTrack, want %d", n, sheets*rows)
	}
	twice := 0
	for i := range sheets * rows {
		if c := fake.TaskCalls(int64(10000 + i)); c != 1 {
			if twice++; twice <= 5 {
				t.Errorf("task %d imported %d times", 10000+i, c)
			}
		}
	}
	if ents, _ := os.ReadDir(importDir); len(ents) != 0 {
		for _, e := range ents {
			t.Errorf("left in the import folder: %s", e.Name())
		}
	}
	log, _ := os.ReadFile(d.log.Name())
	t.Logf("after interrupted uploads: %d tasks looked up; %d import files found on the server, %d found taken by the loader",
		fake.Calls("GetTaskDetails"), strings.Count(string(log), "is on the server; not uploaded again"), strings.Count(string(log), "its loader took it"))
	if left, _ := os.ReadDir(filepath.Join(inbox, "processing")); len(left) != 0 {
		t.Errorf("left in processing/: %v", left)
	}
}
