package dashboard_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vigil-iot/vigil/detector/api"
	"github.com/vigil-iot/vigil/sim"
)

const (
	signinAdminToken = "dashboard-admin-token-0123456789"
	signinReadToken  = "dashboard-read-token-0123456789"
)

// TestBrowserSignIn drives the dashboard against a server with tokens: the
// sign-in shows first, with the field focused; a wrong token is refused
// beside the field; the admin token opens the overview, live events
// included, with the session in a cookie the page cannot read; signing
// out brings the sign-in back, for good; a read-only token can look but
// finds the editor and the verdict buttons disabled, and a change it
// tries anyway is refused with a clear message.
func TestBrowserSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	b := newBrowser(t)
	end := time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC)
	s := startDemoWith(t, 20, 8*time.Hour, end, api.Tokens{Admin: []string{signinAdminToken}, ReadOnly: []string{signinReadToken}})
	wait := func(what, expr string) {
		t.Helper()
		if err := waitJS(b.ctx, expr, 20*time.Second); err != nil {
			body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\npage: %.600s\nbrowser errors: %v", what, err, body, b.takeErrors())
		}
	}
	do := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b.ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	const signinShown = `!document.getElementById("signin").hidden && document.body.classList.contains("signed-out") && document.activeElement?.id === "signin-token"`
	overviewReady := `!!document.querySelector("#latest-events tbody tr") && document.querySelectorAll(".card").length === 6`

	t.Run("sign-in shown", func(t *testing.T) {
		do(chromedp.Navigate(s.base + "/#/"))
		wait("sign-in view", signinShown+` && document.querySelector("main").childElementCount === 0`)
	})

	t.Run("wrong token", func(t *testing.T) {
		do(chromedp.SendKeys(chromedp.CSS(`#signin-token`), "not-the-token-at-all"+kb.Enter))
		wait("error beside the field", `document.getElementById("signin-error").textContent === "This token is not valid." &&
			document.getElementById("signin-error").parentElement === document.getElementById("signin-token").parentElement &&
			document.getElementById("signin-token").getAttribute("aria-invalid") === "true" && !document.getElementById("signin").hidden`)
		if *updateScreenshots {
			png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(screenshotDir(t), "signin.png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("admin", func(t *testing.T) {
		// The wrong token is selected: typing replaces it.
		do(chromedp.SendKeys(chromedp.CSS(`#signin-token`), signinAdminToken+kb.Enter))
		wait("overview", overviewReady+` && document.getElementById("role").textContent === "admin" && !document.getElementById("signout").hidden`)
		if known := evalInt(t, b.ctx, `+document.querySelector(".card .n").textContent`); known != 20 {
			t.Errorf("things known: %d, want 20", known)
		}
		if visible, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.cookie.includes("vigil-session")`)); err != nil || visible {
			t.Errorf("the session cookie is readable by the page (%v)", err)
		}
		wait("stream open", `document.getElementById("live").classList.contains("on")`)
		do(jsDo(`window.notReloaded = true`))
		victim := s.fleet.Things()[7].Name
		row := fmt.Sprintf(`[...document.querySelectorAll("#latest-events tbody tr")].some(r => r.textContent.includes(%q) && r.textContent.includes("4444"))`, victim)
		if before, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](row)); err != nil || before {
			t.Fatalf("the event is listed before the incident (%v)", err)
		}
		s.inject(t, sim.Incident{Kind: sim.Backdoor, Thing: victim, Port: 4444}, 2)
		wait("live event", row+` && window.notReloaded === true`)
		if n := evalInt(t, b.ctx, `[...document.querySelectorAll("[data-verify]")].filter(b => b.disabled).length`); n != 0 {
			t.Errorf("%d verdict buttons disabled for an admin", n)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		do(chromedp.Click(chromedp.CSS(`#signout`)))
		wait("sign-in after sign-out", signinShown+` && document.getElementById("signin-why").textContent === "You are signed out."`)
		// The cookie is gone: a reload asks again.
		do(chromedp.Navigate("about:blank"), chromedp.Navigate(s.base+"/#/violations"))
		wait("sign-in after reload", signinShown)
	})

	t.Run("read-only", func(t *testing.T) {
		do(chromedp.SendKeys(chromedp.CSS(`#signin-token`), signinReadToken+kb.Enter))
		wait("violations", `document.querySelector("table.events [data-verify]") !== null && document.getElementById("role").textContent === "read-only"`)
		if n := evalInt(t, b.ctx, `[...document.querySelectorAll("[data-verify]")].filter(b => !b.disabled || !b.title.includes("admin token")).length`); n != 0 {
			t.Errorf("%d verdict buttons usable with a read-only token", n)
		}
		do(chromedp.Navigate("about:blank"), chromedp.Navigate(s.base+"/#/editor/"+profileName))
		wait("read-only editor", `document.querySelector("#profile-form [data-behavior]") !== null && document.getElementById("read-only-note") !== null`)
		enabled, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("main input, main select, main textarea, main button")]
			.filter(e => !e.disabled && e.id !== "export-json" && e.id !== "pick-profile").map(e => e.id || e.outerHTML.slice(0, 60))`))
		if err != nil {
			t.Fatal(err)
		}
		if len(enabled) != 0 {
			t.Errorf("editor controls enabled with a read-only token: %v", enabled)
		}
		// A change tried anyway is refused, and says why.
		do(jsDo(`window.Vigil.api("/things/intruder", { method: "POST" }).then(() => { window.refused = "accepted" }, (e) => { window.refused = e.status + " " + e.message })`))
		wait("refusal", `typeof window.refused === "string"`)
		refused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.refused`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(refused, "403 Not allowed with read-only access: a read-only token cannot POST") {
			t.Errorf("refused change: %q", refused)
		}
	})

	// The refused sign-in, the 401s before it and the refused change are
	// expected; nothing else may fail.
	var errs []string
	for _, e := range b.takeErrors() {
		if !strings.Contains(e, "status of 401") && !strings.Contains(e, "status of 403") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("browser errors:\n%s", strings.Join(errs, "\n"))
	}
}
