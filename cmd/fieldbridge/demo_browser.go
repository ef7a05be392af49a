package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// findChromium returns the path of an installed Chromium or Chrome.
func findChromium() (string, bool) {
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, true
		}
	}
	return "", false
}

// confirmInChromium plays the customer: a headless Chromium with a phone's
// screen whose position is (lat, lng) opens link, taps "use my location",
// reviews and confirms. It returns the path of a screenshot of the page
// before confirming (written in the system temp folder, to be looked at
// after the demo); dir holds the browser profile.
func confirmInChromium(ctx context.Context, path, link string, lat, lng float64, dir string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	origin := u.Scheme + "://" + u.Host
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
		chromedp.WindowSize(390, 844),
	)
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	acc := 8.0
	err = chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
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
		return "", err
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('#lat').value !== ''`,
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		return "", fmt.Errorf("the position never reached the page: %w", err)
	}
	if err := chromedp.Do(bctx, chromedp.Sleep(300*time.Millisecond)); err != nil { // let the tiles paint
		return "", err
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	err = chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS("#review")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-panel")),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("main.page-done")),
	)
	if err != nil {
		return "", err
	}
	p := filepath.Join(os.TempDir(), "fieldbridge-demo-findme-390x844.png")
	if err := os.WriteFile(p, shot, 0o644); err != nil {
		return "", err
	}
	return p, nil
}

// demoTiles serves one plain map tile (a light ground with a grid) for
// every address, so that the demo's map needs no network.
func demoTiles() http.Handler {
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	ground, line := color.RGBA{0xf2, 0xef, 0xe9, 0xff}, color.RGBA{0xd8, 0xd2, 0xc6, 0xff}
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			c := ground
			if x%64 == 0 || y%64 == 0 {
				c = line
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	tile := b.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(tile)
	})
}
