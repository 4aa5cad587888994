package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Page is the sealing page open in a tab.
type Page struct {
	Ctx context.Context
	Rec *Recorder
	URL string
}

// Open starts a browser, records it, and loads the page at url, waiting
// until it has its certificate. Errors the page logs (CSP violations
// among them) fail the test at its end.
func Open(t *testing.T, url string) *Page {
	t.Helper()
	ctx := Start(t)
	p := &Page{Ctx: ctx, Rec: Record(t, ctx), URL: url}
	p.Load(t)
	t.Cleanup(func() {
		if errs := p.Rec.Errors(); len(errs) > 0 {
			t.Errorf("the page logged errors (CSP violations among them):\n%s", strings.Join(errs, "\n"))
		}
	})
	return p
}

// Load (re)loads the page and waits for its certificate.
func (p *Page) Load(t testing.TB) {
	t.Helper()
	p.Run(t, chromedp.Navigate(p.URL), WaitJS(`document.body.dataset.cert === "loaded"`))
}

// Run runs actions in the tab, failing the test on an error.
func (p *Page) Run(t testing.TB, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates js in the page into out (nil to ignore the result).
func (p *Page) Eval(t testing.TB, js string, out any) {
	t.Helper()
	p.Run(t, chromedp.Evaluate(js, out))
}

// Set gives the control matched by the CSS selector sel a value as a
// paste would, without key events.
func Set(sel, value string) chromedp.Action {
	s, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	return chromedp.Evaluate(`document.querySelector(`+string(s)+`).value = `+string(v)+`, true`, nil)
}

// Item is one row of the form.
type Item struct {
	Key, Value string
	File       []byte // chosen as a file instead of typed
}

// Form is what a user fills in.
type Form struct {
	Name, Namespace, Scope, Type, Format string
	Items                                []Item
	Merge                                string // a SealedSecret pasted to merge into
}

// Seal fills the form (without the keyboard, which has its own test),
// presses Seal and returns the output, or the page's error.
func (p *Page) Seal(t *testing.T, f Form) (out, errText string) {
	t.Helper()
	var n int
	p.Eval(t, `document.querySelectorAll("fieldset.item").length`, &n)
	for ; n < len(f.Items); n++ {
		p.Run(t, chromedp.Click("#add-item", chromedp.ByID))
	}
	if f.Merge != "" {
		p.Run(t, Set("#merge", f.Merge))
		p.Eval(t, `document.getElementById("merge").dispatchEvent(new Event("input")), true`, nil)
	} else {
		p.Run(t, Set("#name", f.Name), Set("#namespace", f.Namespace))
	}
	if f.Scope != "" {
		p.Run(t, Set("#scope", f.Scope))
	}
	if f.Type != "" {
		p.Run(t, Set("#type", f.Type))
	}
	for i, it := range f.Items {
		id := "item-" + strconv.Itoa(i+1)
		p.Run(t, Set("#"+id+"-key", it.Key))
		if it.File != nil {
			path := filepath.Join(t.TempDir(), it.Key)
			if err := os.WriteFile(path, it.File, 0o600); err != nil {
				t.Fatal(err)
			}
			p.Run(t, chromedp.SetUploadFiles("#"+id+"-file", []string{path}, chromedp.ByID),
				WaitJS(`document.getElementById("`+id+`-file").closest("fieldset").dataset.file === "read"`))
		} else {
			p.Run(t, Set("#"+id+"-value", it.Value))
		}
	}
	format := "#format-yaml"
	if f.Format == "json" {
		format = "#format-json"
	}
	p.Run(t, chromedp.Click(format, chromedp.ByID), chromedp.Click("#seal", chromedp.ByID),
		WaitJS(`document.getElementById("output").value !== "" || document.getElementById("error").textContent !== ""`),
		chromedp.Value("#output", &out, chromedp.ByID), chromedp.Text("#error", &errText, chromedp.ByID))
	return out, errText
}
