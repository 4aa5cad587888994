package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
)

// The rate limit of /v1/verify holds through the real API server's service
// proxy: the proxy appends the caller's address as the last
// X-Forwarded-For entry, so a caller forging other entries is still one
// client.
func TestVerifyLimitThroughServiceProxy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	pair, err := keys.Generate(2048, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Options{Keys: staticKeys{pair}, RateLimit: 0.001, RateBurst: 2})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the test's calls: ExposeService asks for / until the proxy
		// reaches the server.
		if r.URL.Path == "/v1/verify" {
			mu.Lock()
			seen = append(seen, strings.Join(r.Header.Values("X-Forwarded-For"), ", "))
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
	stop, err := cluster.ExposeService(ctx, ns, "sealed-secrets-controller", serveLoopback(t, record))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		StringData: map[string]string{"password": "limit-test-value"},
	}
	ss, err := sealing.Seal(secret, &pair.Key.PublicKey, sealing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	body, err := sealing.Encode("json", ss)
	if err != nil {
		t.Fatal(err)
	}
	// A plain HTTP client, not client-go's REST client, which would wait
	// out the Retry-After and try again.
	hc, err := rest.HTTPClientFor(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSuffix(cluster.Config.Host, "/") + "/api/v1/namespaces/" + ns + "/services/http:sealed-secrets-controller:http/proxy/v1/verify"
	for i, want := range []int{200, 200, 429, 429} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d %s, want %d (X-Forwarded-For seen: %q)", i+1, resp.StatusCode, b, want, seen)
		}
		if want == 429 && resp.Header.Get("Retry-After") == "" {
			t.Fatalf("request %d: 429 without Retry-After", i+1)
		}
	}
	// What the controller saw: the forged entry first, the proxy's own
	// record of the caller last.
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 {
		t.Fatalf("the controller saw %d requests, want 4", len(seen))
	}
	for i, xff := range seen {
		parts := strings.Split(xff, ",")
		first, last := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[len(parts)-1])
		if len(parts) < 2 || first != fmt.Sprintf("198.51.100.%d", i+1) {
			t.Fatalf("request %d: X-Forwarded-For %q does not keep the caller's entry first", i+1, xff)
		}
		if _, err := netip.ParseAddr(last); err != nil || strings.HasPrefix(last, "198.51.100.") {
			t.Fatalf("request %d: X-Forwarded-For %q does not end with the proxy's record of the caller", i+1, xff)
		}
	}
}
