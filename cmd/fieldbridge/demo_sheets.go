package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
	"github.com/fieldbridge/fieldbridge/samples"
	"github.com/fieldbridge/fieldbridge/transports"
)

// demoSheets drops the sample sheets into an inbox and sends them to a
// fake OfficeTrack by web service, shows a duplicate, then delivers a
// sheet as an import file to an FTP server: the real vsftpd started by
// scripts/test-servers when it runs, else a local folder standing in for
// OfficeTrack's FTP.
var demoSheets = demoStep{
	Name: "Task sheets → OfficeTrack (web service and FTP drop)",
	Run:  runDemoSheets,
}

const demoSheetsConfig = `language = "pt-BR"

[http]
listen = "off"

[connections.officetrack]
type = "officetrack"
url = %q
user_name = "bridge"
password = "s3cret"
retry_backoff = "50ms"

%s

[[job]]
name = "planilhas"
kind = "sheet-officetrack"
delivery = "webservice"
officetrack = "officetrack"
mappings = "mappings"
min_age = "200ms"

[[job.inbox]]
path = "entrada"

[[job]]
name = "planilhas-ftp"
kind = "sheet-officetrack"
delivery = "ftp"
mappings = "mappings"
min_age = "200ms"

[[job.inbox]]
path = "entrada-ftp"
mapping = "tarefas"

[job.ftp]
connection = "officetrack-ftp"
folder = "import"
format = "csv"
separator = ";"
encoding = "windows-1252"
columns = [
  { header = "NumeroTarefa", field = "TaskNumber" },
  { header = "Cliente",      field = "CustomerName" },
  { header = "DataHora",     field = "DueDateTime" },
  { header = "Tipo",         field = "TaskTypeCode" },
  { header = "Endereco",     field = "Location.Address" },
  { header = "Latitude",     field = "Location.Y" },
  { header = "Longitude",    field = "Location.X" },
]
`

func runDemoSheets(ctx context.Context, d *demo) error {
	fake := officetracktest.NewServer(officetracktest.Options{Latency: 2 * time.Millisecond})
	defer fake.Close()
	for _, dir := range []string{"mappings", "entrada", "entrada-ftp"} {
		if err := os.MkdirAll(filepath.Join(d.Dir, dir), 0o755); err != nil {
			return err
		}
	}
	if err := copyEmbedded("mappings", filepath.Join(d.Dir, "mappings")); err != nil {
		return err
	}
	names, err := fs.Glob(samples.FS, "sheets/*")
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := copyEmbeddedFile(n, filepath.Join(d.Dir, "entrada", path.Base(n))); err != nil {
			return err
		}
	}
	ftpConn, ftpWhere, ftpDir, cleanup, err := demoFTPTarget(d.Dir)
	if err != nil {
		return err
	}
	defer cleanup()
	cfg := fmt.Sprintf(demoSheetsConfig, fake.URL, ftpConn)

	d.Printf("OfficeTrack (fake SOAP service) at %s", fake.URL)
	d.Printf("%d sample sheets (Gnumeric) dropped in entrada/: %s", len(names), strings.Join(baseNames(names), ", "))
	if err := runOK(ctx, d, cfg, "planilhas"); err != nil {
		return err
	}
	d.Printf("OfficeTrack now has %d tasks and %d points of interest", fake.TaskCount(), fake.POICount())
	if t, ok := fake.Task(240301); ok {
		c, _ := t.Get("CustomerName")
		due, _ := t.Get("DueDateTime")
		y, _ := t.Get("Location.Y")
		x, _ := t.Get("Location.X")
		d.Printf("task 240301: %s, due %s, at %s,%s", c, due, y, x)
	}
	if err := printSettled(d, filepath.Join(d.Dir, "entrada")); err != nil {
		return err
	}

	d.Printf("the same tarefas.xlsx dropped again under another name:")
	if err := copyEmbeddedFile("sheets/tarefas.xlsx", filepath.Join(d.Dir, "entrada", "tarefas-de-novo.xlsx")); err != nil {
		return err
	}
	calls := fake.Calls("CreateOrUpdateTask")
	if err := runOK(ctx, d, cfg, "planilhas"); err != nil {
		return err
	}
	if n := fake.Calls("CreateOrUpdateTask") - calls; n != 0 {
		return fmt.Errorf("the duplicate sheet sent %d rows", n)
	}
	if b, err := os.ReadFile(filepath.Join(d.Dir, "entrada", "done", "tarefas-de-novo.xlsx.report.txt")); err == nil {
		d.Printf("  %s", firstLineWith(string(b), "duplicad"))
	}

	if err := demoCorrectedCopy(ctx, d, cfg, fake); err != nil {
		return err
	}

	d.Printf("FTP drop: tarefas.xlsx → one CSV in OfficeTrack's import layout on %s", ftpWhere)
	if err := copyEmbeddedFile("sheets/tarefas.xlsx", filepath.Join(d.Dir, "entrada-ftp", "tarefas.xlsx")); err != nil {
		return err
	}
	if err := runOK(ctx, d, cfg, "planilhas-ftp"); err != nil {
		return err
	}
	if err := printSettled(d, filepath.Join(d.Dir, "entrada-ftp")); err != nil {
		return err
	}
	if uploaded, _ := filepath.Glob(filepath.Join(ftpDir, "import", "*.csv")); len(uploaded) == 1 {
		b, _ := os.ReadFile(uploaded[0])
		lines := strings.Split(strings.TrimSpace(string(b)), "\r\n")
		d.Printf("uploaded %s (Windows-1252, ';'), %d lines; first: %s", filepath.Base(uploaded[0]), len(lines), lines[0])
		return nil
	}
	return fmt.Errorf("no import file in %s", filepath.Join(ftpDir, "import"))
}

// demoCorrectedCopy drops a copy of tarefas.xlsx with one note
// changed: only that row is sent (an update), and its report line names
// the change; the others are already sent.
func demoCorrectedCopy(ctx context.Context, d *demo, cfg string, fake *officetracktest.Server) error {
	b, err := fs.ReadFile(samples.FS, "sheets/tarefas.xlsx")
	if err != nil {
		return err
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer f.Close()
	sh := f.GetSheetName(0)
	rows, err := f.GetRows(sh)
	if err != nil || len(rows) < 2 {
		return fmt.Errorf("sheets/tarefas.xlsx: %d rows, %v", len(rows), err)
	}
	// the header row is below a title; the first data row follows it
	hdr, col := -1, -1
	for r := 0; r < len(rows) && hdr < 0; r++ {
		for i, h := range rows[r] {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(h)), "observa") {
				hdr, col = r, i
			}
		}
	}
	if hdr < 0 || hdr+1 >= len(rows) || col >= len(rows[hdr+1]) {
		return fmt.Errorf("sheets/tarefas.xlsx: no Observações column with a first data row")
	}
	cell, _ := excelize.CoordinatesToCellName(col+1, hdr+2)
	if err := f.SetCellValue(sh, cell, rows[hdr+1][col]+"; cachorro bravo"); err != nil {
		return err
	}
	if err := f.SaveAs(filepath.Join(d.Dir, "entrada", "tarefas-corrigida.xlsx")); err != nil {
		return err
	}
	d.Printf("a corrected copy of tarefas.xlsx (one note changed) dropped in entrada/:")
	calls := fake.Calls("CreateOrUpdateTask")
	if err := runOK(ctx, d, cfg, "planilhas"); err != nil {
		return err
	}
	if n := fake.Calls("CreateOrUpdateTask") - calls; n != 1 {
		return fmt.Errorf("the corrected copy sent %d rows, want 1", n)
	}
	rep, err := excelize.OpenFile(filepath.Join(d.Dir, "entrada", "done", "tarefas-corrigida.xlsx.report.xlsx"))
	if err != nil {
		return err
	}
	defer rep.Close()
	rrows, err := rep.GetRows(rep.GetSheetName(0))
	if err != nil || len(rrows) < hdr+3 {
		return fmt.Errorf("report of the corrected copy: %d rows, %v", len(rrows), err)
	}
	w := len(rrows[hdr])
	line := func(r int) string {
		cells := append(rrows[r], make([]string, w)...)
		return fmt.Sprintf("row %d: %s — %s", r+1, cells[w-2], cells[w-1])
	}
	d.Printf("  1 call; the report's %s", line(hdr+1))
	d.Printf("  %s", line(hdr+2))
	return nil
}

// runOK runs a job once through the engine and fails when the run did.
func runOK(ctx context.Context, d *demo, cfg, job string) error {
	rep, err := d.RunJob(ctx, cfg, job, false)
	if err != nil {
		return err
	}
	if rep.Err != nil {
		return fmt.Errorf("job %s: %w", job, rep.Err)
	}
	return nil
}

// demoFTPTarget returns the connection table of "officetrack-ftp": the
// plain-FTP vsftpd of scripts/test-servers when it is running,
// else a local folder.
func demoFTPTarget(dir string) (conn, where, folder string, cleanup func(), err error) {
	if env, ok := demoFTPServer(); ok {
		addr := env["FB_TEST_FTP_ADDR"]
		host, port, _ := strings.Cut(addr, ":")
		rel := "demo-" + transports.RandomToken()
		root := filepath.Join(env["FB_TEST_ROOT"], rel)
		if err := os.MkdirAll(filepath.Join(root, "import"), 0o777); err == nil {
			uid, _ := strconv.Atoi(env["FB_TEST_UID"])
			gid, _ := strconv.Atoi(env["FB_TEST_GID"])
			os.Chown(root, uid, gid)
			os.Chown(filepath.Join(root, "import"), uid, gid)
			conn = fmt.Sprintf("[connections.officetrack-ftp]\ntype = \"ftp\"\nhost = %q\nport = %s\nuser = %q\npassword = %q\nroot = %q\ntls = \"none\"  # loopback test server\n",
				host, port, env["FB_TEST_USER"], env["FB_TEST_PASSWORD"], rel)
			return conn, "vsftpd ftp://" + addr + "/" + rel + "/import", root, func() { os.RemoveAll(root) }, nil
		}
	}
	folder = filepath.Join(dir, "officetrack-ftp")
	if err := os.MkdirAll(filepath.Join(folder, "import"), 0o755); err != nil {
		return "", "", "", nil, err
	}
	conn = fmt.Sprintf("[connections.officetrack-ftp]\ntype = \"local\"\nroot = %q\n", folder)
	return conn, "a local folder standing in for it (start scripts/test-servers for a real vsftpd): " + folder, folder, func() {}, nil
}

// printSettled lists done/ and failed/ of an inbox with each report's
// summary line.
func printSettled(d *demo, inbox string) error {
	for _, sub := range []string{"done", "failed"} {
		es, err := os.ReadDir(filepath.Join(inbox, sub))
		if err != nil {
			return err
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			if strings.Contains(n, ".report.") {
				continue
			}
			line := sub + "/" + n
			for _, ext := range []string{".csv", ".txt", ".xlsx"} {
				if _, err := os.Stat(filepath.Join(inbox, sub, n+".report"+ext)); err == nil {
					line += "  + " + n + ".report" + ext
				}
			}
			d.Printf("  %s", line)
		}
	}
	return nil
}

func firstLineWith(s, word string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(l), word) {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(s)
}

func baseNames(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = path.Base(p)
	}
	return out
}

func copyEmbedded(dir, dst string) error {
	es, err := fs.ReadDir(samples.FS, dir)
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := copyEmbeddedFile(dir+"/"+e.Name(), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyEmbeddedFile(name, dst string) error {
	b, err := fs.ReadFile(samples.FS, name)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
