package httpapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
	"github.com/keyward/keyward/test/leak"
)

func assertNoCanary(t *testing.T, where, text string) {
	t.Helper()
	for _, f := range leak.In(text, planted) {
		t.Fatalf("%s carries the value (%s): %q", where, f.Name, text)
	}
}

// logSink collects every log line the handler writes, at every verbosity.
type logSink struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logSink) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		fmt.Fprintln(&l.buf, prefix, args)
	}, funcr.Options{Verbosity: 10})
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Anyone can post a copy of anyone's SealedSecret with a template of their
// own. Verify must answer only yes or no, and rotate only ciphertext: no
// template runs, and neither the reply nor the logs carry the value in any
// encoding.
func TestNothingLeaksThroughTemplates(t *testing.T) {
	p := newPair(t)
	var logs logSink
	h, err := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{p}}, RateLimit: -1, PeerRateLimit: -1, Log: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	templates := []string{
		`{{ fail .password }}`,
		`{{ fail (b64enc .password) }}`,
		`{{ fail (upper .password) }}`,
		`{{ printf "%x" .password | fail }}`,
		`{{ .password | b64dec }}`,
		`{{ .password `,
		`{{ index . "password" | fail }}`,
	}
	foreign := newPair(t)
	for _, path := range []string{"/v1/verify", "/v1/rotate"} {
		for _, tmpl := range templates {
			for _, opens := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/opens=%v", path, tmpl, opens), func(t *testing.T) {
					ss := sealedFor(t, p, "prod", "db")
					ss.Spec.Template.Data = map[string]string{"leak": tmpl}
					want := http.StatusOK
					if !opens {
						// One more item sealed for another key: the rest still
						// open, and a renderer would have had the value.
						ct, err := sealing.SealRaw(&foreign.Key.PublicKey, sealing.Strict, "prod", "db", []byte(planted), nil)
						if err != nil {
							t.Fatal(err)
						}
						ss.Spec.EncryptedData["other"] = ct
						want = http.StatusConflict
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest("POST", path, bytes.NewReader(encode(t, "json", ss))))
					if rec.Code != want {
						t.Fatalf("code %d, want %d; body %q", rec.Code, want, rec.Body)
					}
					assertNoCanary(t, "reply", rec.Body.String())
					for k, v := range rec.Header() {
						assertNoCanary(t, "header "+k, strings.Join(v, " "))
					}
					if path == "/v1/verify" && !opens && strings.TrimSpace(rec.Body.String()) != msgDoesNotOpen {
						t.Fatalf("409 body %q, want the fixed phrase", rec.Body)
					}
				})
			}
		}
	}
	assertNoCanary(t, "logs", logs.String())
	if !strings.Contains(logs.String(), msgDoesNotOpen) {
		t.Fatalf("a failed verify is not logged: %q", logs.String())
	}
}

// A body that is not a SealedSecret gets 400 and a fixed phrase, never the
// parser's error, which would quote the body back.
func TestMalformedBodyNotEchoed(t *testing.T) {
	h, _ := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{newPair(t)}}, RateLimit: -1, PeerRateLimit: -1})
	bodies := map[string]string{
		"broken json":   `{"kind": "SealedSecret", "x": ` + planted,
		"broken yaml":   "kind: SealedSecret\n  " + planted + ": [",
		"wrong kind":    `{"apiVersion": "v1", "kind": "` + planted + `"}`,
		"a Secret":      "apiVersion: v1\nkind: Secret\nstringData:\n  password: " + planted + "\n",
		"bad field":     `{"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": ["` + planted + `"]}}`,
		"binary":        "\x00\x01" + planted,
		"not an object": `"` + planted + `"`,
	}
	for _, path := range []string{"/v1/verify", "/v1/rotate"} {
		for name, body := range bodies {
			t.Run(path+"/"+name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
				if rec.Code != http.StatusBadRequest {
					t.Fatalf("code %d, want 400; body %q", rec.Code, rec.Body)
				}
				assertNoCanary(t, "reply", rec.Body.String())
			})
		}
	}
}

// Every POST is bounded, whether the size is declared or only found out
// while reading.
func TestBodyLimitEveryPost(t *testing.T) {
	h, _ := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{newPair(t)}}, RateLimit: -1, PeerRateLimit: -1})
	big := func() io.Reader {
		return io.MultiReader(strings.NewReader(`{"kind":"SealedSecret","x":"`), strings.NewReader(strings.Repeat("a", maxBody+1)), strings.NewReader(`"}`))
	}
	for _, path := range []string{"/v1/verify", "/v1/rotate"} {
		for _, declared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/declared=%v", path, declared), func(t *testing.T) {
				req := httptest.NewRequest("POST", path, big())
				if declared {
					req.ContentLength = maxBody + 40
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("code %d, want 413; body %q", rec.Code, rec.Body)
				}
				if strings.TrimSpace(rec.Body.String()) != msgTooBig {
					t.Fatalf("body %q", rec.Body)
				}
			})
		}
	}
}

// GET endpoints need no body and are neither limited nor affected by one.
func TestGetEndpointsUnlimited(t *testing.T) {
	h, _ := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{newPair(t)}}, RateLimit: 0.001, RateBurst: 1, PeerRateLimit: 0.001, PeerRateBurst: 1})
	for i := 0; i < 5; i++ {
		for _, path := range []string{"/healthz", "/v1/cert.pem"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, strings.NewReader(strings.Repeat("x", 1000))))
			if rec.Code != http.StatusOK {
				t.Fatalf("%s request %d: %d", path, i+1, rec.Code)
			}
		}
	}
}

// sealedBody is a valid SealedSecret body for the rate limit tests.
func sealedBody(t *testing.T, p *keys.Pair) []byte {
	t.Helper()
	b, err := sealing.Encode("json", sealedFor(t, p, "prod", "db"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
