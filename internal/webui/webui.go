// Package webui is the sealing page: static files, embedded in the binary,
// that seal a Secret in the browser with WebCrypto. The server only hands
// out the files and the certificate; no value ever reaches it. The
// handler sets the headers that keep it so: a Content-Security-Policy that
// lets the page load only its own files and talk only to its own origin.
package webui

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/keyward/keyward/internal/atomicfile"
)

//go:embed static
var static embed.FS

// CSP is the page's Content-Security-Policy: its own scripts, styles and
// images, requests only to where it came from, no inline code, no forms
// posted anywhere, never framed. index.html carries the same policy (less
// frame-ancestors, which a meta tag cannot set) for copies served by any
// static server.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// SetHeaders sets the security headers every response of the page carries.
func SetHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
}

// WithHeaders wraps next so that every response, errors included, carries
// the page's headers.
func WithHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

// Files is the page: index.html and the modules and styles it loads.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// pageFile is the file of the page at urlPath, "" when there is none.
func pageFile(urlPath string) string {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" {
		name = "index.html"
	}
	if _, ok := contentTypes[path.Ext(name)]; !ok {
		return ""
	}
	if _, err := fs.Stat(Files(), name); err != nil {
		return ""
	}
	return name
}

// IsPage reports whether urlPath is one of the page's files, so a server
// can count page requests apart from unknown paths.
func IsPage(urlPath string) bool { return pageFile(urlPath) != "" }

// Handler serves the page's files, GET and HEAD only, with the headers.
// Paths that are not a file of the page are 404; the caller routes
// everything else (the certificate, the API) before it.
func Handler() http.Handler {
	files := Files()
	return WithHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		name := pageFile(r.URL.Path)
		if name == "" {
			http.NotFound(w, r)
			return
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentTypes[path.Ext(name)])
		if r.Method == http.MethodHead {
			return
		}
		w.Write(b)
	}))
}

// CertHandler serves a fixed certificate PEM at v1/cert.pem, as the
// controller does, for `keyward serve-ui`.
func CertHandler(certPEM []byte) http.Handler {
	return WithHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(certPEM)
	}))
}

// Export writes the page into dir (created when missing) for a static
// server or offline use; with certPEM it also writes v1/cert.pem, which
// the page then loads by itself. Existing files of the same names are
// replaced; nothing else in dir is touched.
func Export(dir string, certPEM []byte) error {
	if dir == "" {
		return errors.New("no directory to export the page to")
	}
	files := Files()
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		return atomicfile.Write(dst, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("exporting the page to %s: %w", dir, err)
	}
	if certPEM != nil {
		if err := os.MkdirAll(filepath.Join(dir, "v1"), 0o755); err != nil {
			return fmt.Errorf("exporting the page to %s: %w", dir, err)
		}
		if err := atomicfile.Write(filepath.Join(dir, "v1", "cert.pem"), certPEM, 0o644); err != nil {
			return fmt.Errorf("exporting the certificate to %s: %w", dir, err)
		}
	}
	return nil
}
