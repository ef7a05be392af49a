package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/findme/findmebrowser"
)

// TestDemoFindME plays the FindME step: with Chromium installed the
// browser confirms (CI installs it), without it the page's form does.
func TestDemoFindME(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out, reg: registry}
	if code := runDemo(context.Background(), a, []demoStep{demoFindME}, false, false, ""); code != exitOK {
		t.Fatalf("demo = %d\n%s", code, out.String())
	}
	wants := []string{
		`200 {"status":"sent"`, "(48) 9****-5432", `200 {"status":"waiting"`,
		`200 {"status":"found","viable":true`, `"box":"CTO 22-05"`, "410 \"Link já usado",
	}
	if _, ok := findmebrowser.Find(); ok {
		wants = append(wants, "headless Chromium", "fieldbridge-demo-findme-390x844.png")
	} else {
		wants = append(wants, "no Chromium here")
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The number appears in the bot's request, and nowhere after it.
	if n := strings.Count(out.String(), "99876-5432"); n != 1 {
		t.Errorf("the full phone number appears %d times (only the bot's request should show it)", n)
	}
	if t.Failed() {
		t.Log(out.String())
	}
}
