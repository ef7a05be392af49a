package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
	"github.com/fieldbridge/fieldbridge/connectors/sytex/sytextest"
)

// demoBoxSync plays the OZmap → Sytex box sync: a first run creates every
// box, a second run sends nothing, a few changes are sent alone, a box
// Sytex refuses is reported with Sytex's message, and deleted boxes stay.
var demoBoxSync = demoStep{Name: "OZmap boxes → Sytex network elements", Run: runDemoBoxSync}

func runDemoBoxSync(ctx context.Context, d *demo) error {
	// the boxes were last edited yesterday; today's edits use the real clock
	var offset atomic.Int64
	offset.Store(int64(-24 * time.Hour))
	oz := ozmaptest.New(ozmaptest.Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	defer oz.Close()
	sy := sytextest.New(sytextest.Options{Organization: "77", NETypes: []int64{12, 14}})
	defer sy.Close()

	centro := oz.AddProject(ozmap.Project{Name: "Centro", Identifier: "CEN"})
	norte := oz.AddProject(ozmap.Project{Name: "Norte", Identifier: "NOR"})
	const cto, ce = "5e9b00000000000000000001", "5e9b00000000000000000002"
	var ids []string
	for i := range 300 {
		p, typ := centro, cto
		if i%3 == 0 {
			p = norte
		}
		if i%9 == 0 {
			typ = ce
		}
		b := oz.AddBox(ozmaptest.Box{Box: ozmap.Box{
			Name: fmt.Sprintf("CTO-%04d", i), Project: p.ID, BoxType: typ,
			Implanted: i%20 != 7, // a few boxes are still "em projeto"
			Lat:       -23.55 - float64(i)*1e-4, Lng: -46.63 + float64(i%17)*1e-4,
			Address: fmt.Sprintf("Rua %d, %d", i%12+1, 10*i),
		}, FreePorts: i % 8})
		ids = append(ids, b.ID)
	}
	offset.Store(0)
	d.Printf("OZmap (fake) holds 300 boxes in 2 projects, 15 of them still in project; Sytex (fake) is empty.")

	reports := filepath.Join(d.Dir, "reports")
	cfg := fmt.Sprintf(`
language = "en"

[connections.ozmap]
type = "ozmap"
base_url = %q
key = %q

[connections.sytex]
type = "sytex"
base_url = %q
token = %q
organization = "77"
rate_limit = 500.0

[[job]]
name = "ozmap-sytex"
kind = "ozmap-sytex-boxes"
schedule = "0 21 * * *"
timezone = "America/Sao_Paulo"
ozmap = "ozmap"
sytex = "sytex"
default_ne_type = 12
ne_types = { %q = 14 }
report_dir = %q
`, oz.URL(), oz.Key(), sy.URL(), sy.Token(), ce, reports)

	run := func(title string, full bool) error {
		sy.ResetCalls()
		d.Printf("")
		d.Printf("%s", title)
		rep, err := d.RunJob(ctx, cfg, "ozmap-sytex", full)
		if err != nil {
			return err
		}
		if rep.Err != nil {
			return rep.Err
		}
		d.Printf("Sytex got %d calls (search %d, create %d, update %d) and now holds %d network elements.",
			sy.TotalCalls(), sy.Calls("GET"), sy.Calls("POST"), sy.Calls("PATCH"), sy.Len())
		return nil
	}
	if err := run("1. First run: every implanted box is created in Sytex.", false); err != nil {
		return err
	}
	if err := run("2. Second run, nothing changed in OZmap: nothing is sent.", false); err != nil {
		return err
	}
	if sy.TotalCalls() != 0 {
		return fmt.Errorf("the second run made %d calls to Sytex", sy.TotalCalls())
	}

	for _, i := range []int{3, 50, 101} {
		oz.UpdateBox(ids[i], func(b *ozmaptest.Box) { b.Lat += 0.0003 })
	}
	oz.UpdateBox(ids[200], func(b *ozmaptest.Box) { b.BoxType = ce })
	oz.UpdateBox(ids[7], func(b *ozmaptest.Box) { b.Implanted = true })
	bad := oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "CTO-NOVA-COM-NOME-LONGO", Project: centro.ID, BoxType: cto, Implanted: true, Lat: -23.5, Lng: -46.6}})
	sy.RejectCode(bad.Name, "name", "Ensure this field has no more than 20 characters.")
	oz.DeleteBox(ids[10])
	if err := run("3. Four boxes changed, one left the project phase, one new box Sytex refuses, one deleted:", false); err != nil {
		return err
	}
	if len(sy.ByCode("CTO-0010")) != 1 {
		return fmt.Errorf("the deleted box's element is gone from Sytex")
	}
	d.Printf("The box deleted in OZmap (CTO-0010) stays in Sytex: the bridge never deletes.")
	files, _ := filepath.Glob(filepath.Join(reports, "*.csv"))
	newest, newestT := "", time.Time{}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(newestT) {
			newest, newestT = f, st.ModTime()
		}
	}
	d.Printf("A CSV report per run is in %s (%d files); the last one:", reports, len(files))
	b, err := os.ReadFile(newest)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintln(d.Out, indent(strings.TrimSpace(string(b)), "    "))
	return nil
}
