package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/local"
)

// demoResults plays the field-results flow: the OfficeTrack fake exports
// result files to an FTP folder (the local vsftpd of scripts/test-servers
// when it runs, else a local folder standing in for it) and posts Client
// Notification System notifications to the running bridge; everything
// lands in the customer's folder, whole and once.
var demoResults = demoStep{
	Name: "OfficeTrack field results → customer folder (FTP pickup + notifications)",
	Run:  runDemoResults,
}

const (
	demoNotifyToken = "demo-notify-secret-7f3a9c1e"
	demoServerToken = "demo-server-token-5b8d2e40"
)

func runDemoResults(ctx context.Context, d *demo) error {
	conn, export, where, cleanup, err := demoExportFolder(d.Dir)
	if err != nil {
		return err
	}
	defer cleanup()
	d.Printf("OfficeTrack's export folder: %s", where)

	// The fake exports 12 result files in two sub-folders, plus a file
	// still being written (a temporary name, which is never taken).
	files := officetracktest.FieldResultFiles(12, 4000, 2)
	if err := officetracktest.FieldResultPut(ctx, export, "export", files); err != nil {
		return err
	}
	if _, err := export.Write(ctx, "export/forms/00/.result-99999.csv.part", strings.NewReader("half"), transports.WriteOptions{Size: 4}); err != nil {
		return err
	}
	export.Close()
	d.Printf("the fake exported %d result files (and one still being written)", len(files))

	customer := filepath.Join(d.Dir, "customer")
	cfgText := fmt.Sprintf(`data_dir = "{{dir}}/data"
language = "en"

[http]
token = %q

%s

[[job]]
name = "field-results"
kind = "officetrack-results"
source = "officetrack_export"
source_dir = "export"
recursive = true
min_age = "0s"
after = "delete"
target_dir = %q
on_collision = "keep_both"
write_done_marker = ".ok"

[job.notifications]
path = "/officetrack/notify"
token = %q
`, demoServerToken, conn, filepath.ToSlash(customer), demoNotifyToken)
	cfg, err := d.Config(cfgText)
	if err != nil {
		return err
	}
	e, base, stop, err := d.Serve(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()

	// Two polls: the first sees the files, the second takes those whose
	// size and time did not change in between.
	for i, what := range []string{"first poll (files seen, waiting to be stable)", "second poll (stable files taken)"} {
		rep, err := e.RunOnce(ctx, "field-results", false)
		if err != nil {
			return err
		}
		d.Printf("%s:", what)
		var b strings.Builder
		bridge.WriteReport(&b, rep, cfg.Language, cfg.Location())
		fmt.Fprintln(d.Out, indent(b.String(), "    "))
		if i == 1 && rep.Err != nil {
			return rep.Err
		}
	}

	// Notifications, the way OfficeTrack posts them.
	notifyURL := base + "/officetrack/notify?token=" + url.QueryEscape(demoNotifyToken)
	events := []officetracktest.FieldResultEvent{
		{EventType: "TaskStatusChanged", EntryType: "Task", EntrySource: "Mobile", EntryID: "880001", EmployeeNumber: "E12", Status: "Closed"},
		{EventType: "FormSubmitted", EntryType: "Form", EntrySource: "Mobile", EntryID: "880001", EmployeeNumber: "E12", Data: map[string]string{"Signal": "-19.8", "Splitter": "1:8"}},
		{EventType: "TaskStatusChanged", EntryType: "Task", EntrySource: "Mobile", EntryID: "880002", EmployeeNumber: "E07", Status: "NotDone"},
	}
	docs := make([]string, len(events))
	for i, ev := range events {
		doc := officetracktest.FieldResultNotificationXML(ev)
		docs[i] = doc
		if err := officetracktest.FieldResultPostNotification(ctx, nil, notifyURL, doc); err != nil {
			return fmt.Errorf("notification %s %s: %w", ev.EventType, ev.EntryID, err)
		}
		d.Printf("notification %s for %s %s → 200 _OK_", ev.EventType, ev.EntryType, ev.EntryID)
	}
	// OfficeTrack re-posts when it missed the answer: written once.
	again := docs[0]
	if err := officetracktest.FieldResultPostNotification(ctx, nil, notifyURL, again); err != nil {
		return err
	}
	d.Printf("the same notification posted again → 200 _OK_, not written twice")
	err = officetracktest.FieldResultPostNotification(ctx, nil, base+"/officetrack/notify?token=wrong", again)
	var pe *officetracktest.FieldResultPostError
	if !errors.As(err, &pe) || pe.Status != 401 {
		return fmt.Errorf("a wrong token was not refused: %v", err)
	}
	d.Printf("a post with a wrong token → %d, nothing written", pe.Status)

	// What the customer sees.
	var got []string
	err = filepath.WalkDir(customer, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		r, _ := filepath.Rel(customer, p)
		got = append(got, filepath.ToSlash(r))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(got)
	var results, markers, notes int
	for _, p := range got {
		switch {
		case strings.HasPrefix(p, "notifications/"):
			notes++
		case strings.HasSuffix(p, ".ok"):
			markers++
		default:
			results++
		}
	}
	d.Printf("customer folder %s: %d result files (+%d .ok markers), %d notifications", customer, results, markers, notes)
	for _, p := range got {
		if strings.HasPrefix(p, "notifications/") || p == "forms/00/result-00000.csv" {
			d.Printf("  %s", p)
		}
	}
	if results != len(files) || markers != len(files) || notes != len(events) {
		return fmt.Errorf("expected %d files, %d markers and %d notifications in the customer's folder", len(files), len(files), len(events))
	}
	return nil
}

// demoExportFolder returns the connection table for OfficeTrack's export
// folder, a transport to fill it, and a description. It uses the vsftpd of
// scripts/test-servers when it is running, else a local folder.
func demoExportFolder(dir string) (conn string, t transports.Transport, where string, cleanup func(), err error) {
	if env, ok := demoFTPServer(); ok {
		host, port, _ := net.SplitHostPort(env["FB_TEST_FTP_ADDR"])
		rel := "demo-results-" + transports.RandomToken()
		folder := filepath.Join(env["FB_TEST_ROOT"], rel)
		if err := os.Mkdir(folder, 0o777); err == nil {
			o := ftp.DefaultOptions()
			fmt.Sscan(port, &o.Port)
			o.Host, o.User, o.Password, o.Root, o.TLS = host, env["FB_TEST_USER"], env["FB_TEST_PASSWORD"], rel, ftp.TLSNone
			t, err := ftp.New(context.Background(), o)
			if err == nil {
				conn := fmt.Sprintf("[connections.officetrack_export]\ntype = \"ftp\"\nhost = %q\nport = %d\nuser = %q\npassword = %q\nroot = %q\ntls = \"none\"\n",
					o.Host, o.Port, o.User, o.Password, o.Root)
				where := fmt.Sprintf("ftp://%s@%s/%s (vsftpd from scripts/test-servers)", o.User, env["FB_TEST_FTP_ADDR"], rel)
				return conn, t, where, func() { os.RemoveAll(folder) }, nil
			}
			os.RemoveAll(folder)
		}
	}
	folder := filepath.Join(dir, "officetrack-ftp")
	t, err = local.New(context.Background(), local.Options{Root: folder})
	if err != nil {
		return "", nil, "", nil, err
	}
	conn = fmt.Sprintf("[connections.officetrack_export]\ntype = \"local\"\nroot = %q\n", filepath.ToSlash(folder))
	return conn, t, folder + " (a local folder standing in for the FTP server; run scripts/test-servers start to use vsftpd)", func() {}, nil
}
