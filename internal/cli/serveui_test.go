package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/webui"
)

// TestServeUI serves the page and the certificate with the page's headers
// on every answer, and stops when its context ends.
func TestServeUI(t *testing.T) {
	pair, err := keys.Generate(2048, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(cert, pair.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var errOut strings.Builder
	f := &serveUIFlags{listen: "127.0.0.1:0"}
	f.cert = cert
	done := make(chan error, 1)
	go func() {
		done <- runServeUI(ctx, Streams{Out: outW, Err: &errOut}, func(string) string { return "" }, f)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v (%s)", err, <-done)
	}
	go io.Copy(io.Discard, outR)
	base := strings.TrimSpace(strings.TrimPrefix(line, "serving the sealing page at "))
	for path, want := range map[string]string{
		"":            `<script type="module" src="app.js">`,
		"app.js":      "fetch(\"v1/cert.pem\"",
		"v1/cert.pem": string(pair.CertPEM()),
		"nothing":     "404 page not found",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Errorf("GET /%s: %s, body lacks %q", path, resp.Status, want)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != webui.CSP {
			t.Errorf("GET /%s: Content-Security-Policy %q", path, got)
		}
	}
	if !strings.Contains(errOut.String(), "fingerprint "+keys.Fingerprint(&pair.Key.PublicKey)) {
		t.Errorf("stderr does not name the fingerprint: %q", errOut.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve-ui stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve-ui did not stop with its context")
	}
}
