package httpapi

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
	"github.com/keyward/keyward/internal/webui"
)

const planted = "planted-value-must-not-leak"

type fakeKeys struct {
	pairs []*keys.Pair // newest last
}

func (f *fakeKeys) PrivateKeys() []*rsa.PrivateKey {
	var out []*rsa.PrivateKey
	for _, p := range f.pairs {
		out = append(out, p.Key)
	}
	return out
}

func (f *fakeKeys) CurrentCert() ([]byte, *rsa.PublicKey, bool) {
	if len(f.pairs) == 0 {
		return nil, nil, false
	}
	p := f.pairs[len(f.pairs)-1]
	return p.CertPEM(), &p.Key.PublicKey, true
}

func newPair(t *testing.T) *keys.Pair {
	t.Helper()
	p, err := keys.Generate(2048, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sealedFor(t *testing.T, p *keys.Pair, ns, name string) *ssv1.SealedSecret {
	t.Helper()
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		StringData: map[string]string{"password": planted},
	}
	ss, err := sealing.Seal(secret, &p.Key.PublicKey, sealing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func encode(t *testing.T, format string, obj any) []byte {
	t.Helper()
	b, err := sealing.Encode(format, obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandler(t *testing.T) {
	old, current := newPair(t), newPair(t)
	ks := &fakeKeys{pairs: []*keys.Pair{old, current}}
	h, err := New(Options{Keys: ks, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	good := sealedFor(t, old, "prod", "db")
	moved := good.DeepCopy()
	moved.Namespace = "other"
	stranger := sealedFor(t, newPair(t), "prod", "db")

	tests := []struct {
		name     string
		method   string
		path     string
		body     []byte
		wantCode int
		wantBody string
	}{
		{"healthz", "GET", "/healthz", nil, 200, "ok\n"},
		{"cert", "GET", "/v1/cert.pem", nil, 200, string(current.CertPEM())},
		{"verify json", "POST", "/v1/verify", encode(t, "json", good), 200, ""},
		{"verify yaml", "POST", "/v1/verify", encode(t, "yaml", good), 200, ""},
		{"verify moved strict", "POST", "/v1/verify", encode(t, "json", moved), 409, msgDoesNotOpen},
		{"verify unknown key", "POST", "/v1/verify", encode(t, "json", stranger), 409, msgDoesNotOpen},
		{"verify two documents", "POST", "/v1/verify", append(encode(t, "yaml", good), encode(t, "yaml", good)...), 400, "found 2 documents"},
		{"verify garbage", "POST", "/v1/verify", []byte("{not json"), 400, msgNotOne},
		{"verify GET", "GET", "/v1/verify", nil, 405, ""},
		{"rotate unknown key", "POST", "/v1/rotate", encode(t, "json", stranger), 409, "no key could decrypt"},
		{"unknown path", "GET", "/v2/nothing", nil, 404, ""},
		{"sealing page", "GET", "/", nil, 200, `<script type="module" src="app.js">`},
		{"sealing page module", "GET", "/seal.js", nil, 200, "RSA-OAEP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body)))
			if rec.Code != tt.wantCode {
				t.Fatalf("%s %s: code %d, want %d; body %q", tt.method, tt.path, rec.Code, tt.wantCode, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("body %q does not contain %q", rec.Body, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), planted) {
				t.Fatalf("response carries the plaintext: %q", rec.Body)
			}
			// The page's policy is on every answer: the page fetches the
			// certificate, and errors must not open a way around it.
			if got := rec.Header().Get("Content-Security-Policy"); got != webui.CSP {
				t.Fatalf("Content-Security-Policy = %q", got)
			}
		})
	}
}

func TestCertContentType(t *testing.T) {
	h, _ := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{newPair(t)}}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/cert.pem", nil))
	if got := rec.Header().Get("Content-Type"); got != "application/x-pem-file" {
		t.Fatalf("Content-Type = %q", got)
	}
}

func TestNoKeyYet(t *testing.T) {
	h, _ := New(Options{Keys: &fakeKeys{}})
	for _, path := range []string{"/v1/cert.pem"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 500 {
			t.Fatalf("%s without keys: code %d, want 500", path, rec.Code)
		}
	}
}

// Rotate re-seals with the current key, keeps everything but the
// ciphertexts, and the result opens with the current key alone.
func TestRotate(t *testing.T) {
	old, current := newPair(t), newPair(t)
	h, _ := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{old, current}}})
	in := sealedFor(t, old, "prod", "db")
	in.Spec.Template.Labels = map[string]string{"app": "backend"}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/rotate", bytes.NewReader(encode(t, "json", in))))
	if rec.Code != 200 {
		t.Fatalf("rotate: %d %s", rec.Code, rec.Body)
	}
	var out ssv1.SealedSecret
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Spec.EncryptedData["password"] == in.Spec.EncryptedData["password"] {
		t.Fatal("rotate returned the same ciphertext")
	}
	if out.Name != "db" || out.Namespace != "prod" || out.Spec.Template.Labels["app"] != "backend" {
		t.Fatalf("rotate changed more than the ciphertexts: %+v", out.ObjectMeta)
	}
	secret, err := sealing.Unseal(&out, []*rsa.PrivateKey{current.Key})
	if err != nil {
		t.Fatalf("rotated SealedSecret does not open with the current key: %v", err)
	}
	if string(secret.Data["password"]) != planted {
		t.Fatal("rotated value differs")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{newPair(t)}}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/healthz", "/healthz", "/no/such/" + planted, "/", "/app.js"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	want := `
# HELP sealed_secrets_controller_http_requests_total HTTP API requests by path, status code and method.
# TYPE sealed_secrets_controller_http_requests_total counter
sealed_secrets_controller_http_requests_total{code="200",method="GET",path="/"} 2
sealed_secrets_controller_http_requests_total{code="200",method="GET",path="/healthz"} 2
sealed_secrets_controller_http_requests_total{code="404",method="GET",path="other"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sealed_secrets_controller_http_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "sealed_secrets_controller_http_request_duration_seconds"); n != 3 {
		t.Fatalf("duration series = %d, want 3", n)
	}
}

func TestBodyLimit(t *testing.T) {
	h, _ := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{newPair(t)}}, RateLimit: -1})
	big := io.MultiReader(strings.NewReader(`{"kind":"SealedSecret","x":"`), strings.NewReader(strings.Repeat("a", maxBody+1)), strings.NewReader(`"}`))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/verify", big))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d %s", rec.Code, rec.Body)
	}
}
