package webui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHandler: every answer, errors included, carries the CSP and the
// other headers; files have their content types; only GET and HEAD.
func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		method, path string
		code         int
		ctype        string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/index.html", 200, "text/html; charset=utf-8"},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/seal.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/manifest.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/style.css", 200, "text/css; charset=utf-8"},
		{"GET", "/icon.svg", 200, "image/svg+xml"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/../webui.go", 404, ""},
		{"GET", "/nothing.js", 404, ""},
		{"GET", "/v1/cert.pem", 404, ""},
		{"POST", "/", 405, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d", rec.Code, tc.code)
			}
			checkHeaders(t, rec.Header())
			if tc.ctype != "" && rec.Header().Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.ctype)
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Error("HEAD answered with a body")
			}
		})
	}
}

func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": CSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	for _, part := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(h.Get("Content-Security-Policy"), part) {
			t.Errorf("CSP lacks %s", part)
		}
	}
}

func TestCertHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	CertHandler([]byte("PEM")).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/cert.pem", nil))
	if rec.Body.String() != "PEM" || rec.Header().Get("Content-Type") != "application/x-pem-file" {
		t.Fatalf("got %q as %q", rec.Body.String(), rec.Header().Get("Content-Type"))
	}
	checkHeaders(t, rec.Header())
}

func TestIsPage(t *testing.T) {
	for path, want := range map[string]bool{
		"/": true, "/index.html": true, "/app.js": true, "/v1/cert.pem": false,
		"/healthz": false, "/static/app.js": false, "/x.html": false,
	} {
		if got := IsPage(path); got != want {
			t.Errorf("IsPage(%q) = %v", path, got)
		}
	}
}

// TestPageSource holds the page's files to the rules the CSP cannot see
// for itself: the same policy in a meta tag, no inline script or style,
// no third-party origin, no storage API.
func TestPageSource(t *testing.T) {
	files := Files()
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	meta := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]+)">`).FindSubmatch(index)
	if meta == nil || string(meta[1])+"; frame-ancestors 'none'" != CSP {
		t.Errorf("index.html's CSP meta tag is not the served policy (less frame-ancestors): %q", meta)
	}
	if m := regexp.MustCompile(`<script(?:[^>]*)>`).FindAll(index, -1); len(m) != 1 || !strings.Contains(string(m[0]), `src="app.js"`) {
		t.Errorf("index.html must load only app.js and hold no inline script: %q", m)
	}
	if regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=`).Match(index) {
		t.Error("index.html has inline style or an inline event handler")
	}
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		s := string(b)
		for _, banned := range []string{"localStorage", "sessionStorage", "indexedDB", "document.cookie", "sendBeacon", "WebSocket", "eval(", "new Function", "innerHTML"} {
			if strings.Contains(s, banned) {
				t.Errorf("%s uses %s", p, banned)
			}
		}
		// The only absolute URL allowed is the SVG namespace.
		for _, u := range regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindAllString(s, -1) {
			if u != "http://www.w3.org" {
				t.Errorf("%s names another origin: %s", p, u)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExport(t *testing.T) {
	for _, tc := range []struct {
		name string
		cert []byte
	}{{"without a certificate", nil}, {"with a certificate", []byte("PEM")}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := Export(dir, tc.cert); err != nil {
				t.Fatal(err)
			}
			err := fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				want, _ := fs.ReadFile(Files(), p)
				got, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil || string(got) != string(want) {
					t.Errorf("%s not exported as embedded: %v", p, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "v1", "cert.pem"))
			if tc.cert == nil && !os.IsNotExist(err) {
				t.Errorf("v1/cert.pem written without a certificate: %v", err)
			}
			if tc.cert != nil && string(got) != string(tc.cert) {
				t.Errorf("v1/cert.pem = %q, %v", got, err)
			}
		})
	}
	if err := Export("", nil); err == nil {
		t.Error("Export to no directory succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if err := Export(file, nil); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Export into a file: %v, want an error naming it", err)
	}
}
