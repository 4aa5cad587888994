// Package browsertest runs Debian's chromium headless for the sealing
// page's tests, driven with chromedp: it starts a browser with a fresh
// profile, records every request a page makes (bodies included), and runs
// axe-core in the page. hack/browsertools/install.sh provides both tools.
package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	testcluster "github.com/keyward/keyward/test/cluster"
)

// Tools are the browser and the accessibility checker.
type Tools struct {
	Chromium string
	// AxeSource is axe.min.js, injected into pages.
	AxeSource string
}

var (
	toolsOnce sync.Once
	tools     Tools
	toolsErr  error
)

// Get runs hack/browsertools/install.sh once per process and returns the
// tools; a missing tool fails the test.
func Get(t testing.TB) Tools {
	t.Helper()
	toolsOnce.Do(func() { tools, toolsErr = install() })
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return tools
}

func install() (Tools, error) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		return Tools{}, err
	}
	script := filepath.Join(root, "hack", "browsertools", "install.sh")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Tools{}, fmt.Errorf("browsertest: %s: %w\n%s", script, err, stderr.String())
	}
	axe, err := os.ReadFile(filepath.Join(strings.TrimSpace(stdout.String()), "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return Tools{}, fmt.Errorf("browsertest: %s finished but left no axe-core: %w", script, err)
	}
	chromium := os.Getenv("KEYWARD_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	return Tools{Chromium: chromium, AxeSource: string(axe)}, nil
}

// Start launches a headless browser with a fresh profile and returns a
// context for its first tab; the browser goes when the test ends. The
// flags keep chromium from calling home, which a closed network refuses.
func Start(t testing.TB) context.Context {
	t.Helper()
	tl := Get(t)
	// The profile is removed after the browser has closed; t.TempDir's
	// own removal could race chromium's last writes.
	profile, err := os.MkdirTemp("", "keyward-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(tl.Chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1000, 1400),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// chromedp starts chromium with a parent-death signal, which fires when
	// the forking thread ends, not the process: tests that enter network
	// namespaces (package testnet) end threads. So chromium is forked from a
	// thread locked until the browser is gone, as package proc does.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		started <- chromedp.Run(ctx)
		<-ctx.Done()
	}()
	stop := func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancel()
		cancelAlloc()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := <-started; err != nil {
		stop()
		t.Fatalf("starting %s: %v", tl.Chromium, err)
	}
	t.Cleanup(stop)
	return ctx
}

// Request is one request a page made.
type Request struct {
	Method, URL string
	Headers     string // as JSON
	Body        string
}

func (r Request) String() string { return r.Method + " " + r.URL }

// Recorder keeps every request of a tab, and its console errors.
type Recorder struct {
	mu       sync.Mutex
	requests []Request
	pending  []network.RequestID // requests whose body must be fetched
	frames   []string            // WebSocket frames sent
	errors   []string
}

// Record starts recording ctx's tab. Call it before navigating.
func Record(t testing.TB, ctx context.Context) *Recorder {
	t.Helper()
	r := &Recorder{}
	chromedp.ListenTarget(ctx, func(ev any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			h, _ := json.Marshal(ev.Request.Headers)
			req := Request{Method: ev.Request.Method, URL: ev.Request.URL + ev.Request.URLFragment, Headers: string(h)}
			for _, e := range ev.Request.PostDataEntries {
				if b, err := base64.StdEncoding.DecodeString(e.Bytes); err == nil {
					req.Body += string(b)
				} else {
					req.Body += e.Bytes
				}
			}
			if ev.Request.HasPostData && req.Body == "" {
				r.pending = append(r.pending, ev.RequestID)
			}
			r.requests = append(r.requests, req)
		case *network.EventRequestWillBeSentExtraInfo:
			h, _ := json.Marshal(ev.Headers)
			r.requests = append(r.requests, Request{Method: "(headers)", URL: string(ev.RequestID), Headers: string(h)})
		case *network.EventWebSocketFrameSent:
			r.frames = append(r.frames, ev.Response.PayloadData)
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.APITypeError || ev.Type == cdpruntime.APITypeWarning {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				r.errors = append(r.errors, "console: "+strings.Join(parts, " "))
			}
		case *cdpruntime.EventExceptionThrown:
			r.errors = append(r.errors, "exception: "+ev.ExceptionDetails.Error())
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError || ev.Entry.Level == log.LevelWarning {
				r.errors = append(r.errors, fmt.Sprintf("log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	})
	if err := chromedp.Run(ctx, network.Enable(), log.Enable(), cdpruntime.Enable()); err != nil {
		t.Fatalf("enabling the network log: %v", err)
	}
	return r
}

// Requests returns what was recorded, with the bodies chromium kept back
// fetched; the text of each frame sent on a WebSocket counts as a request.
func (r *Recorder) Requests(ctx context.Context) ([]Request, error) {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	var bodies []string
	for _, id := range pending {
		var body string
		err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
			b, err := network.GetRequestPostData(id).Do(ctx)
			body = string(b)
			return err
		}))
		if err != nil {
			return nil, fmt.Errorf("reading the body of request %s: %w", id, err)
		}
		bodies = append(bodies, body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]Request(nil), r.requests...)
	for _, b := range bodies {
		out = append(out, Request{Method: "(body)", Body: b})
	}
	for _, f := range r.frames {
		out = append(out, Request{Method: "(websocket)", Body: f})
	}
	return out, nil
}

// Errors returns the console errors and warnings, uncaught exceptions and
// browser log errors (CSP violations among them) seen so far.
func (r *Recorder) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// Violation is one axe-core rule a page breaks.
type Violation struct {
	ID          string `json:"id"`
	Impact      string `json:"impact"`
	Description string `json:"description"`
	Nodes       []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

func (v Violation) String() string {
	var targets []string
	for _, n := range v.Nodes {
		targets = append(targets, fmt.Sprint(n.Target))
	}
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Description, strings.Join(targets, ", "))
}

// Axe runs axe-core on the page in ctx (WCAG 2.x A and AA and best
// practices) and returns the violations.
func Axe(t testing.TB, ctx context.Context) []Violation {
	t.Helper()
	var out string
	err := chromedp.Run(ctx,
		chromedp.Evaluate(Get(t).AxeSource, nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, &out,
			func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if err != nil {
		t.Fatalf("running axe: %v", err)
	}
	var v []Violation
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("reading axe's answer: %v", err)
	}
	return v
}

// WaitJS polls the expression until it is true.
func WaitJS(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(60*time.Second))
}
