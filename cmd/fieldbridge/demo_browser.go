package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fieldbridge/fieldbridge/bridge/findme/findmebrowser"
)

// confirmInChromium plays the customer: a headless Chromium with a phone's
// screen whose position is (lat, lng) opens link, taps "use my location",
// reviews and confirms. It returns the path of a screenshot of the page
// before confirming (written in the system temp folder, to be looked at
// after the demo); dir holds the browser profile.
func confirmInChromium(ctx context.Context, path, link string, lat, lng float64, dir string) (string, error) {
	bctx, cancel, err := findmebrowser.NewPhone(ctx, path, filepath.Join(dir, "chromium"))
	if err != nil {
		return "", err
	}
	defer cancel()
	bctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	if err := findmebrowser.UsePosition(bctx, link, lat, lng); err != nil {
		return "", err
	}
	if err := chromedp.Do(bctx, chromedp.Sleep(300*time.Millisecond)); err != nil { // let the tiles paint
		return "", err
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	if err := findmebrowser.Confirm(bctx); err != nil {
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
