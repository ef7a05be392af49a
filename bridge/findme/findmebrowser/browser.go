// Package findmebrowser plays the customer of a FindME link in a real
// headless Chromium (driven with chromedp): a phone's screen, a position
// the browser reports, the page's "use my location" button. The page's
// tests and `fieldbridge demo` share it. NewDesktop starts the same
// browser with a desktop screen, for the import pages' tests.
package findmebrowser

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// InstallHint says how to install the browser on Debian.
const InstallHint = "apt-get install -y --no-install-recommends chromium (scripts/test-servers installs it)"

// Find returns the path of an installed Chromium or Chrome.
func Find() (string, bool) {
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, true
		}
	}
	return "", false
}

// NewDesktop starts the headless browser at path with a desktop screen of
// width×height (the import pages' tests use 1366×768) and its profile in
// profileDir. Cancel the returned function to stop it.
func NewDesktop(ctx context.Context, path, profileDir string, width, height int64) (context.Context, context.CancelFunc, error) {
	bctx, cancel := newBrowser(ctx, path, profileDir, int(width), int(height))
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(width, height)); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting Chromium: %w", err)
	}
	return bctx, cancel, nil
}

func newBrowser(ctx context.Context, path, profileDir string, width, height int) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profileDir),
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	return bctx, func() { cancelBrowser(); cancelAlloc() }
}

// NewPhone starts the headless browser at path with a phone's screen
// (390×844, scale 2, mobile) and its profile in profileDir. Cancel the
// returned function to stop it.
func NewPhone(ctx context.Context, path, profileDir string) (context.Context, context.CancelFunc, error) {
	bctx, cancel := newBrowser(ctx, path, profileDir, 390, 844)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting Chromium: %w", err)
	}
	return bctx, cancel, nil
}

// UsePosition opens link in a browser whose position is (lat, lng),
// allowed to share it, taps "use my location" and waits until the
// position is in the page's form.
func UsePosition(ctx context.Context, link string, lat, lng float64) error {
	u, err := url.Parse(link)
	if err != nil {
		return err
	}
	origin := u.Scheme + "://" + u.Host
	acc := 8.0
	err = chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: "geolocation"},
				Setting:    browser.PermissionSettingGranted, Origin: origin})
			return err
		}),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetGeolocationOverride,
				emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lng, Accuracy: &acc})
			return err
		}),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#use-gps")),
		chromedp.Click(chromedp.CSS("#use-gps")),
	)
	if err != nil {
		return err
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#lat').value !== ''`,
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		return fmt.Errorf("the position never reached the page: %w", err)
	}
	return nil
}

// Confirm goes from the form to the confirmation step and confirms; it
// returns once the page says the location was received.
func Confirm(ctx context.Context) error {
	return chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#review")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-panel")),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("main.page-done")),
	)
}
