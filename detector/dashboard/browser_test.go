package dashboard_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vigil-iot/vigil/sim"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the page screenshots to docs/screenshots")

// screenshotDir is where the browser test writes its PNGs: docs/screenshots
// with -update-screenshots, else $VIGIL_SCREENSHOTS or a temporary folder.
func screenshotDir(t *testing.T) string {
	if *updateScreenshots {
		return filepath.Join("..", "..", "docs", "screenshots")
	}
	if d := os.Getenv("VIGIL_SCREENSHOTS"); d != "" {
		return d
	}
	return t.TempDir()
}

const profileName = "scanner-recommended"

// TestBrowser drives the dashboard in headless Chromium against a server
// holding two days of a 60-scanner fleet: every page renders without a
// console error, the profile chart shows the fleet's 8:00 and 20:00 peaks,
// the verification state and the editor reach the API, the editor puts
// each API error beside its field, and an incident injected while the
// pages are open shows up on the overview and on the device page without
// a reload.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	b := newBrowser(t)
	end := time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC)
	s := startDemo(t, 60, 48*time.Hour, end)
	shots := screenshotDir(t)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(ctx context.Context, name string) {
		t.Helper()
		if err := chromedp.Do(ctx, jsDo(`window.scrollTo(0, 0)`), jsDo(`document.getElementById("tooltip").hidden = true`)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noErrors := func(page string) {
		t.Helper()
		if errs := b.takeErrors(); len(errs) > 0 {
			if page == "editor" {
				errs = withoutRefusedCalls(errs)
			}
			if len(errs) == 0 {
				return
			}
			t.Errorf("%s: browser errors:\n%s", page, strings.Join(errs, "\n"))
		}
	}
	open := func(ctx context.Context, hash, ready string) {
		t.Helper()
		// A blank page first: the same fragment again would not render anew.
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(s.base+"/"+hash)); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, ready, 20*time.Second); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
			var sum map[string]any
			s.getJSON(t, "/api/fleet-summary", &sum)
			t.Fatalf("%s: %v\npage: %.500s\nserver: %v\nbrowser errors: %v", hash, err, body, sum, b.takeErrors())
		}
	}

	t.Run("overview", func(t *testing.T) {
		open(b.ctx, "#/", `!!document.querySelector("#latest-events tbody tr") && document.querySelectorAll(".card").length === 6`)
		known, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`.card .n`)))
		if err != nil {
			t.Fatal(err)
		}
		if known != "60" {
			t.Errorf("things known: %q, want 60", known)
		}
		// The light theme redraws the page; the dark one is back after.
		for _, theme := range []string{"light", "dark"} {
			if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#theme`))); err != nil {
				t.Fatal(err)
			}
			if err := waitJS(b.ctx, `document.documentElement.dataset.theme === "`+theme+`" && document.querySelectorAll(".card").length === 6`, 10*time.Second); err != nil {
				t.Error(err)
			}
		}
		noErrors("overview")
		shot(b.ctx, "overview")
	})

	t.Run("profile", func(t *testing.T) {
		open(b.ctx, "#/profile/"+profileName, `document.querySelector("main > div[data-ready=true]") !== null`)
		// The 7-day view: the replay is 3 days.
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`button[data-period="7d"]`))); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(b.ctx, `document.querySelector("button[data-period='7d'][aria-pressed=true]") && document.querySelector("main > div[data-ready=true]") !== null`, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		chart := `[data-metric="aws:all-bytes-out"]`
		bands := evalInt(t, b.ctx, `[...document.querySelectorAll('`+chart+` path.band')].filter(p => p.getAttribute("d").length > 1000).length`)
		moving := evalInt(t, b.ctx, `document.querySelectorAll('`+chart+` path.threshold.moving').length`)
		static := evalInt(t, b.ctx, `document.querySelectorAll('`+chart+` line.threshold').length`)
		if bands != 5 || moving != 1 || static != 1 {
			t.Errorf("bytes-out chart: %d bands, %d moving and %d static thresholds; want 5, 1 and 1", bands, moving, static)
		}
		morning, evening := peakTimes(t, b.ctx)
		t.Logf("the fleet median of bytes out peaks at %02d:%02d and %02d:%02d", morning/60, morning%60, evening/60, evening%60)
		if abs(morning-8*60) > 20 || abs(evening-20*60) > 20 {
			t.Errorf("the fleet median of bytes out peaks at %02d:%02d and %02d:%02d, want 8:00 and 20:00 (within 20 minutes)",
				morning/60, morning%60, evening/60, evening%60)
		}
		// Hovering shows the values and the device count.
		if err := chromedp.Do(b.ctx, chromedp.Focus(chromedp.CSS(chart+` svg`)), chromedp.KeyEvent(kb.End)); err != nil {
			t.Fatal(err)
		}
		tip, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("tooltip").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(tip, "devices") || !strings.Contains(tip, "p50") || !strings.Contains(tip, "bytes-out-vs-fleet") {
			t.Errorf("tooltip %q lacks the values, the threshold or the device count", tip)
		}
		// The log scale redraws the same bands, with powers of ten on the axis.
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#log-scale`))); err != nil {
			t.Fatal(err)
		}
		logBands := evalInt(t, b.ctx, `document.querySelectorAll('`+chart+` path.band').length`)
		logTicks := evalInt(t, b.ctx, `[...document.querySelectorAll('`+chart+` .axis text')].filter(e => ["10", "100", "1000"].includes(e.textContent)).length`)
		if logBands != 5 || logTicks < 2 {
			t.Errorf("log scale: %d bands, %d power-of-ten ticks", logBands, logTicks)
		}
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#log-scale`))); err != nil {
			t.Fatal(err)
		}
		noErrors("profile")
		// The screenshot: the last day, without the extremes that incidents
		// make, so that the daily curve shows.
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`button[data-period="24h"]`)), chromedp.Click(chromedp.CSS(`button[data-stat="p100"]`))); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(b.ctx, `document.querySelector("main > div[data-ready=true]") !== null`, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		// Close the value table for the screenshot.
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`[data-metric-panel="aws:all-bytes-out"] .legend button`))); err != nil {
			t.Fatal(err)
		}
		shot(b.ctx, "profile")
	})

	var thing string
	t.Run("thing", func(t *testing.T) {
		var active struct {
			ActiveViolations []struct {
				ThingName string `json:"thingName"`
			} `json:"activeViolations"`
		}
		s.getJSON(t, "/api/active-violations", &active)
		thing = s.fleet.Things()[3].Name
		if len(active.ActiveViolations) > 0 {
			thing = active.ActiveViolations[0].ThingName
		}
		open(b.ctx, "#/thing/"+thing, `document.querySelector("main > div[data-ready=true]") !== null`)
		raw := evalInt(t, b.ctx, `[...document.querySelectorAll('[data-metric="aws:all-bytes-out"] path.raw')].filter(p => p.getAttribute("d").length > 100).length`)
		ports := evalInt(t, b.ctx, `document.querySelectorAll('[data-metric="aws:listening-tcp-ports"] .row-label').length`)
		if raw != 1 || ports < 2 {
			t.Errorf("thing page: %d raw series of bytes out, %d listening TCP ports; want 1 and at least 2", raw, ports)
		}
		noErrors("thing")
	})

	t.Run("violations", func(t *testing.T) {
		open(b.ctx, "#/violations", `document.querySelector("#active-table") !== null && document.querySelector("table.events") !== null`)
		id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("table.events [data-verify]")?.dataset.verify || ""`))
		if err != nil {
			t.Fatal(err)
		}
		if id == "" {
			t.Fatal("no violation event listed")
		}
		if err := chromedp.Do(b.ctx,
			chromedp.Click(chromedp.CSS(`table.events [data-verify="`+id+`"]`)),
			chromedp.Click(chromedp.CSS(`#verify input[value=TRUE_POSITIVE]`)),
			chromedp.SendKeys(chromedp.CSS(`#verify-note`), "confirmed on site"),
			chromedp.Click(chromedp.CSS(`#verify-save`)),
		); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(b.ctx, `!document.getElementById("verify").open`, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		var events struct {
			ViolationEvents []struct {
				ViolationID       string `json:"violationId"`
				VerificationState string `json:"verificationState"`
				Description       string `json:"verificationStateDescription"`
			} `json:"violationEvents"`
		}
		s.getJSON(t, fmt.Sprintf("/api/violation-events?startTime=%d&endTime=%d&verificationState=TRUE_POSITIVE", end.Add(-96*time.Hour).Unix(), end.Add(time.Hour).Unix()), &events)
		found := false
		for _, e := range events.ViolationEvents {
			found = found || (e.ViolationID == id && e.Description == "confirmed on site")
		}
		if !found {
			t.Errorf("verification state of %s not stored: %+v", id, events.ViolationEvents)
		}
		// Filtered to statistical behaviors, the history holds only those.
		if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS(`#f-type`), "STATISTICAL"), jsDo(`document.getElementById("f-type").dispatchEvent(new Event("change"))`)); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(b.ctx, `(() => { const rows = [...document.querySelectorAll("table.events tbody tr[data-violation]")];
			return rows.length > 0 && rows.every(r => r.cells[4].textContent.endsWith("-vs-fleet")) })()`, 10*time.Second); err != nil {
			t.Errorf("statistical filter: %v", err)
		}
		if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS(`#f-type`), ""), jsDo(`document.getElementById("f-type").dispatchEvent(new Event("change"))`)); err != nil {
			t.Fatal(err)
		}
		noErrors("violations")
		shot(b.ctx, "violations")
	})

	t.Run("editor", func(t *testing.T) { testEditor(t, b, s, open) })
	noErrors("editor")
	open(b.ctx, "#/editor/"+profileName, `document.querySelector("#profile-form [data-behavior]") !== null`)
	shot(b.ctx, "editor")

	t.Run("live", func(t *testing.T) {
		victim := s.fleet.Things()[42].Name
		device := b.tab(t)
		open(b.ctx, "#/", `!!document.querySelector("#latest-events tbody tr")`)
		open(device, "#/thing/"+victim, `document.querySelector("main > div[data-ready=true]") !== null`)
		for _, ctx := range []context.Context{b.ctx, device} {
			if err := chromedp.Do(ctx, jsDo(`window.notReloaded = true`)); err != nil {
				t.Fatal(err)
			}
			if err := waitJS(ctx, `document.getElementById("live").classList.contains("on")`, 10*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		s.inject(t, sim.Incident{Kind: sim.Backdoor, Thing: victim, Port: 4444}, 2)
		sel := fmt.Sprintf(`[...document.querySelectorAll("#latest-events tbody tr")].some(r => r.textContent.includes(%q) && r.textContent.includes("in-alarm") && r.textContent.includes("4444"))`, victim)
		if err := waitJS(b.ctx, sel+` && window.notReloaded === true`, 30*time.Second); err != nil {
			t.Errorf("overview: %v", err)
		}
		if err := waitJS(device, `(document.querySelector("[data-active]")?.textContent || "").includes("listening-tcp-ports") && window.notReloaded === true`, 30*time.Second); err != nil {
			t.Errorf("device page: %v", err)
		}
		if err := waitJS(device, `[...document.querySelectorAll('[data-metric="aws:listening-tcp-ports"] .row-label.unexpected')].some(e => e.textContent === "4444")`, 30*time.Second); err != nil {
			t.Errorf("device page ports: %v", err)
		}
		noErrors("live")
		shot(device, "thing")
		shot(b.ctx, "overview")
	})
}

// peakTimes reads the profile page's value table of bytes out and returns
// the local times of day (the browser runs at UTC+1, the city's zone), in
// minutes, of the highest fleet median before and after 14:00: the median
// of each 5-minute slot of the day is averaged over the days, then over an
// hour centred on the slot to smooth the noise (a symmetric average does
// not move a symmetric peak).
func peakTimes(t *testing.T, ctx context.Context) (morning, evening int) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-metric-panel="aws:all-bytes-out"] .legend button`))); err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll('table[data-values="aws:all-bytes-out"] tbody tr')].map(r => [r.cells[0].textContent, r.querySelector('[data-stat=p50]').textContent])`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 288 {
		t.Fatalf("value table has %d rows, want at least a day of 5-minute windows", len(rows))
	}
	const slots = 288
	var sum, n [slots]float64
	for _, r := range rows {
		clock := r[0][len(r[0])-5:] // "20 Nov 08:05"
		hh, err1 := strconv.Atoi(clock[:2])
		mm, err2 := strconv.Atoi(clock[3:])
		if err1 != nil || err2 != nil {
			t.Fatalf("time %q", r[0])
		}
		slot := (hh*60 + mm) / 5
		sum[slot] += parseSI(t, r[1])
		n[slot]++
	}
	smooth := func(i int) float64 {
		var s, c float64
		for d := -6; d <= 6; d++ {
			j := (i + d + slots) % slots
			if n[j] > 0 {
				s, c = s+sum[j]/n[j], c+1
			}
		}
		return s / max(c, 1)
	}
	best := func(from, to int) int {
		b := from
		for i := from; i < to; i++ {
			if smooth(i) > smooth(b) {
				b = i
			}
		}
		return b * 5
	}
	return best(0, slots/2+12), best(slots/2+12, slots)
}

// parseSI reads the chart's number format (12.3k).
func parseSI(t *testing.T, s string) float64 {
	t.Helper()
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, strings.TrimSuffix(s, "G")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("value %q: %v", s, err)
	}
	return v * mult
}

// evalInt evaluates a JavaScript expression that gives a number.
func evalInt(t *testing.T, ctx context.Context, expr string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return n
}

func abs(n int) int { return max(n, -n) }

// withoutRefusedCalls drops the console lines Chromium writes for API calls
// answered 400 or 409: the editor test makes them on purpose, to see the
// API's errors shown.
func withoutRefusedCalls(errs []string) []string {
	var out []string
	for _, e := range errs {
		if !strings.Contains(e, "the server responded with a status of 400") && !strings.Contains(e, "the server responded with a status of 409") {
			out = append(out, e)
		}
	}
	return out
}
