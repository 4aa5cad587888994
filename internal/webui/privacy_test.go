package webui_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyward/keyward/internal/webui"
	browsertest "github.com/keyward/keyward/test/browser"
	"github.com/keyward/keyward/test/leak"
	"github.com/keyward/keyward/test/testkeys"
)

// TestNoValueLeavesThePage records every request the page makes while a
// value is typed, sealed (fresh and merged) and downloaded, and finds the
// value in none, in any encoding; the page keeps nothing in browser
// storage, and downloading clears the values from the form.
func TestNoValueLeavesThePage(t *testing.T) {
	key := testkeys.RSA(t, "2048")
	p := openPage(t, certFor(t, key))
	downloads := t.TempDir()
	p.Run(t, browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).
		WithDownloadPath(downloads).WithEventsEnabled(true))
	const planted = "planted-Value-9c2e71"
	fileValue := []byte("file-planted-7a1b")

	out, errText := p.Seal(t, browsertest.Form{Name: "db", Namespace: "prod", Format: "yaml", Items: []browsertest.Item{
		{Key: "password", Value: planted}, {Key: "cert", File: fileValue},
	}})
	if errText != "" {
		t.Fatal(errText)
	}
	merged, errText := p.Seal(t, browsertest.Form{Merge: out, Format: "json", Items: []browsertest.Item{{Key: "again", Value: planted + "-2"}}})
	if errText != "" {
		t.Fatal(errText)
	}
	p.Run(t, chromedp.Click("#download", chromedp.ByID))
	var got []byte
	deadline := time.Now().Add(30 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		entries, _ := os.ReadDir(downloads)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".crdownload") {
				got, _ = os.ReadFile(filepath.Join(downloads, e.Name()))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if string(got) != merged {
		t.Fatalf("the download is not the output shown (%d bytes)", len(got))
	}

	var state struct {
		Values  []string `json:"values"`
		Files   []int    `json:"files"`
		Storage int      `json:"storage"`
		Cookie  string   `json:"cookie"`
		DBs     int      `json:"dbs"`
		Caches  int      `json:"caches"`
	}
	p.Run(t, chromedp.Evaluate(`(async () => ({
		values: Array.from(document.querySelectorAll("fieldset.item .value"), e => e.value),
		files: Array.from(document.querySelectorAll("fieldset.item .file"), e => e.files.length),
		storage: localStorage.length + sessionStorage.length,
		cookie: document.cookie,
		dbs: (await indexedDB.databases()).length,
		caches: (await caches.keys()).length,
	}))()`, &state, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	for i, v := range state.Values {
		if v != "" {
			t.Errorf("item %d keeps its value after the download", i+1)
		}
	}
	for i, n := range state.Files {
		if n != 0 {
			t.Errorf("item %d keeps its file after the download", i+1)
		}
	}
	if state.Storage != 0 || state.Cookie != "" || state.DBs != 0 || state.Caches != 0 {
		t.Errorf("the page stored something: %+v", state)
	}

	reqs, err := p.Rec.Requests(p.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	origin := strings.TrimSuffix(p.URL, "/")
	var pages int
	for _, r := range reqs {
		all := r.URL + "\n" + r.Headers + "\n" + r.Body
		for _, v := range []string{planted, string(fileValue)} {
			for _, f := range leak.In(all, v) {
				t.Errorf("request %s carries the value as %s", r, f.Name)
			}
		}
		switch r.Method {
		case "(headers)":
		case "GET":
			pages++
			if !strings.HasPrefix(r.URL, origin+"/") {
				t.Errorf("request to another origin: %s", r)
			}
		default:
			t.Errorf("the page sent %s (body %d bytes)", r, len(r.Body))
		}
	}
	if pages < 6 { // index, app, seal, manifest, style, icon, cert
		t.Errorf("recorded only %d requests: is the recorder working?", pages)
	}

	// The recorder sees bodies: a request posted from the page on purpose
	// is found with its body.
	const marker = "control-body-5d1f"
	p.Run(t, chromedp.Evaluate(`fetch("v1/cert.pem", {method: "POST", body: "`+marker+`"}).then(() => true, () => true)`, nil,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	reqs, err = p.Rec.Requests(p.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, r := range reqs {
		seen = seen || strings.Contains(r.Body, marker)
	}
	if !seen {
		t.Error("the recorder missed the body of a POST")
	}
}

// TestKeyboardOnly seals with Tab, typing and Enter alone.
func TestKeyboardOnly(t *testing.T) {
	key := testkeys.RSA(t, "2048")
	p := openPage(t, certFor(t, key))
	kf := keyFile(t, key)
	tabTo := func(id string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			for i := 0; i < 40; i++ {
				var active string
				if err := chromedp.Evaluate(`document.activeElement ? document.activeElement.id : ""`, &active).Do(ctx); err != nil {
					return err
				}
				if active == id {
					return nil
				}
				if err := chromedp.KeyEvent(kb.Tab).Do(ctx); err != nil {
					return err
				}
			}
			t.Fatalf("Tab never reached #%s", id)
			return nil
		})
	}
	p.Run(t,
		tabTo("name"), chromedp.KeyEvent("kbd-db"),
		tabTo("namespace"), chromedp.KeyEvent("kbd-ns"),
		tabTo("scope"), chromedp.KeyEvent(kb.ArrowDown), // namespace-wide
		tabTo("item-1-key"), chromedp.KeyEvent("token"),
		tabTo("item-1-value"), chromedp.KeyEvent("typed-by-keyboard"),
		tabTo("seal"), chromedp.KeyEvent(kb.Enter),
		browsertest.WaitJS(`document.getElementById("output").value !== "" || document.getElementById("error").textContent !== ""`),
	)
	var out, errText, scope string
	p.Run(t, chromedp.Value("#output", &out, chromedp.ByID), chromedp.Text("#error", &errText, chromedp.ByID), chromedp.Value("#scope", &scope, chromedp.ByID))
	if errText != "" {
		t.Fatalf("the page says: %s", errText)
	}
	if scope != "namespace-wide" {
		t.Errorf("ArrowDown on the scope chose %q", scope)
	}
	sec := unseal(t, kf, out)
	if sec.Name != "kbd-db" || sec.Namespace != "kbd-ns" || string(sec.Data["token"]) != "typed-by-keyboard" {
		t.Fatalf("unsealed %s/%s with %d items", sec.Namespace, sec.Name, len(sec.Data))
	}
	// Enter in a text field seals too, as in any form.
	p.Run(t, chromedp.Evaluate(`document.getElementById("output").value = "", true`, nil),
		tabTo("item-1-key"), chromedp.KeyEvent(kb.Enter),
		browsertest.WaitJS(`document.getElementById("output").value !== ""`))
	// The output takes the focus, so a screen reader reads it next.
	var active string
	p.Eval(t, `document.activeElement.id`, &active)
	if active != "output" {
		t.Errorf("focus after sealing is on #%s, not the output", active)
	}
}

// TestAccessible runs axe-core on the page as it opens, with several
// items and an output, and with an error shown.
func TestAccessible(t *testing.T) {
	key := testkeys.RSA(t, "2048")
	p := openPage(t, certFor(t, key))
	check := func(when string) {
		for _, v := range browsertest.Axe(t, p.Ctx) {
			t.Errorf("%s: %s", when, v)
		}
	}
	check("as it opens")
	if _, errText := p.Seal(t, browsertest.Form{Name: "db", Namespace: "prod", Items: []browsertest.Item{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}}); errText != "" {
		t.Fatal(errText)
	}
	check("with an output")
	p.Load(t)
	p.Seal(t, browsertest.Form{Name: "db", Items: []browsertest.Item{{Key: "a", Value: "1"}}})
	check("with an error")
	p.Run(t, chromedp.Evaluate(`document.getElementById("cert-other").open = true`, nil))
	check("with the certificate form open")

	// axe is really looking: a control without a label is reported.
	p.Run(t, chromedp.Evaluate(`document.querySelector("main").appendChild(document.createElement("input")), true`, nil))
	found := false
	for _, v := range browsertest.Axe(t, p.Ctx) {
		found = found || v.ID == "label"
	}
	if !found {
		t.Error("axe did not report an input without a label")
	}
}

// TestExportedPage serves an export with a plain static file server: the
// page seals with a pasted certificate when none was exported, and the
// meta tag's CSP holds it to its origin.
func TestExportedPage(t *testing.T) {
	key := testkeys.RSA(t, "4096")
	cert := certFor(t, key)
	dir := t.TempDir()
	if err := webui.Export(dir, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	ctx := browsertest.Start(t)
	p := &browsertest.Page{Ctx: ctx, Rec: browsertest.Record(t, ctx), URL: srv.URL + "/"}
	p.Run(t, chromedp.Navigate(p.URL), browsertest.WaitJS(`document.body.dataset.cert === "missing"`))
	var status string
	p.Run(t, chromedp.Text("#cert-status", &status, chromedp.ByID))
	if !strings.Contains(status, "choose or paste one below") {
		t.Errorf("without a certificate the page says %q", status)
	}
	p.Run(t, browsertest.Set("#cert-pem", string(cert)), chromedp.Click("#cert-use", chromedp.ByID),
		browsertest.WaitJS(`document.getElementById("cert-fingerprint").textContent !== ""`))
	out, errText := p.Seal(t, browsertest.Form{Name: "offline", Namespace: "ns", Scope: "strict", Items: []browsertest.Item{{Key: "k", Value: "offline-value"}}})
	if errText != "" {
		t.Fatal(errText)
	}
	if sec := unseal(t, keyFile(t, key), out); string(sec.Data["k"]) != "offline-value" {
		t.Fatal("the exported page's output does not open")
	}
	// The meta policy is in force: an injected request to another origin
	// is refused.
	var refused bool
	p.Run(t, chromedp.Evaluate(`fetch("http://192.0.2.1/x").then(() => false, () => true)`, &refused,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if !refused {
		t.Error("the exported page could fetch from another origin")
	}
	found := false
	for _, e := range p.Rec.Errors() {
		found = found || strings.Contains(e, "Content Security Policy")
	}
	if !found {
		t.Errorf("no CSP violation logged for the refused fetch: %q", p.Rec.Errors())
	}
}

// TestScreenshot renders the page with a sealed output. With
// KEYWARD_WRITE_SCREENSHOT=1 it writes docs/img/seal-in-browser.png.
func TestScreenshot(t *testing.T) {
	key := testkeys.RSA(t, "4096")
	p := openPage(t, certFor(t, key))
	if _, errText := p.Seal(t, browsertest.Form{Name: "db-credentials", Namespace: "shop", Scope: "strict", Type: "Opaque", Items: []browsertest.Item{
		{Key: "username", Value: "shop"}, {Key: "password", Value: "correct-horse-battery"},
	}}); errText != "" {
		t.Fatal(errText)
	}
	var png []byte
	p.Run(t, chromedp.Evaluate(`document.getElementById("output").scrollTop = 0, document.activeElement.blur(), window.scrollTo(0, 0), true`, nil), chromedp.EmulateViewport(1000, 1400),
		chromedp.FullScreenshot(&png, 100))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatal("the screenshot is not a PNG")
	}
	if os.Getenv("KEYWARD_WRITE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "seal-in-browser.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
