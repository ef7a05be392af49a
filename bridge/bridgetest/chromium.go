package bridgetest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fieldbridge/fieldbridge/bridge/findme/findmebrowser"
)

// Screen is the screen a test's browser has.
type Screen struct {
	Width, Height int64
	// Phone makes it a phone's (mobile, scale 2; findmebrowser.NewPhone,
	// whose size is 390×844).
	Phone bool
}

// Chromium starts a headless Chromium for one test, stopped at its end,
// with every action bounded by timeout. Where Chromium is not installed
// the test is skipped, or fails under CI=true.
func Chromium(t testing.TB, screen Screen, timeout time.Duration) context.Context {
	t.Helper()
	path, ok := findmebrowser.Find()
	if !ok {
		msg := "Chromium is not installed: " + findmebrowser.InstallHint
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	start := func(ctx context.Context) (context.Context, context.CancelFunc, error) {
		if screen.Phone {
			return findmebrowser.NewPhone(ctx, path, t.TempDir())
		}
		return findmebrowser.NewDesktop(ctx, path, t.TempDir(), screen.Width, screen.Height)
	}
	ctx, cancel, err := start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelT)
	return ctx
}

// Do runs one browser action, failing the test on its error.
func Do[T any](t testing.TB, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}
