package browser

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/sealing"
	"github.com/keyward/keyward/internal/webui"
	browsertest "github.com/keyward/keyward/test/browser"
	"github.com/keyward/keyward/test/leak"
)

// TestSealInBrowserThroughTheController opens the page at / of the
// controller's API through kubectl proxy and the API server's service
// proxy, seals for every scope with each key size, applies the output and
// waits for the controller to make the Secret. A merge into the first
// SealedSecret updates it. Every request the page made is searched for
// the values.
func TestSealInBrowserThroughTheController(t *testing.T) {
	proxy := kubectlProxy(t)
	c := cluster.Client
	for _, bits := range []int{2048, 4096} {
		t.Run("RSA-"+strconv.Itoa(bits), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			ctlNS, ns := newNamespace(ctx, t, c), newNamespace(ctx, t, c)
			key, addr := startController(ctx, t, ctlNS, bits)
			stop, err := cluster.ExposeService(ctx, ctlNS, "sealed-secrets-controller", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			url := proxy + "/api/v1/namespaces/" + ctlNS + "/services/sealed-secrets-controller:http/proxy/"

			// Every answer the page gets, through both proxies, has the CSP.
			for _, path := range []string{"", "app.js", "seal.js", "manifest.js", "style.css", "v1/cert.pem"} {
				resp, body := get(t, url+path)
				if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != webui.CSP {
					t.Errorf("GET %s: %s, CSP %q", path, resp.Status, resp.Header.Get("Content-Security-Policy"))
				}
				if path == "" && !strings.Contains(body, `<script type="module" src="app.js">`) {
					t.Errorf("the page came through the proxy altered:\n%s", body)
				}
			}

			p := browsertest.Open(t, url)
			var fp string
			p.Run(t, chromedp.Text("#cert-fingerprint", &fp, chromedp.ByID))
			if fp != key.Fingerprint {
				t.Errorf("the page shows fingerprint %s, the controller's key is %s", fp, key.Fingerprint)
			}
			var planted []string
			var first string
			for _, scope := range []string{"strict", "namespace-wide", "cluster-wide"} {
				name := "web-" + scope
				value := "browser-e2e-" + scope + "-" + strconv.Itoa(bits) + "-Qx"
				planted = append(planted, value)
				p.Load(t)
				out, errText := p.Seal(t, browsertest.Form{Name: name, Namespace: ns, Scope: scope, Type: "Opaque",
					Items: []browsertest.Item{{Key: "password", Value: value}}})
				if errText != "" {
					t.Fatalf("%s: the page says: %s", scope, errText)
				}
				if first == "" {
					first = out
				}
				apply(ctx, t, c, out)
				waitSecret(ctx, t, ns, name, map[string]string{"password": value})
			}

			// Merge a second item into the strict SealedSecret and apply it.
			second := "browser-e2e-merged-" + strconv.Itoa(bits) + "-Wz"
			planted = append(planted, second)
			p.Load(t)
			out, errText := p.Seal(t, browsertest.Form{Merge: first, Format: "json",
				Items: []browsertest.Item{{Key: "api-token", Value: second}}})
			if errText != "" {
				t.Fatalf("merge: the page says: %s", errText)
			}
			apply(ctx, t, c, out)
			waitSecret(ctx, t, ns, "web-strict", map[string]string{"password": planted[0], "api-token": second})

			reqs, err := p.Rec.Requests(p.Ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs {
				for _, v := range planted {
					for _, f := range leak.In(r.URL+"\n"+r.Headers+"\n"+r.Body, v) {
						t.Errorf("request %s carries a value as %s", r, f.Name)
					}
				}
				if r.Method != "GET" && r.Method != "(headers)" {
					t.Errorf("the page sent %s", r)
				}
			}
		})
	}
}

// apply creates the SealedSecret of a manifest, or updates the one there.
func apply(ctx context.Context, t *testing.T, c client.Client, manifest string) {
	t.Helper()
	ss, err := sealing.ReadSealedSecrets(strings.NewReader(manifest))
	if err != nil || len(ss) != 1 {
		t.Fatalf("the page's output is not one SealedSecret: %v", err)
	}
	obj := ss[0]
	cur := obj.DeepCopy()
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur); err == nil {
		obj.ResourceVersion = cur.ResourceVersion
		if err := c.Update(ctx, obj); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := c.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
}

// waitSecret waits until the controller has made the Secret with exactly
// these items.
func waitSecret(ctx context.Context, t *testing.T, ns, name string, want map[string]string) {
	t.Helper()
	eventually(ctx, t, "Secret "+ns+"/"+name, func(ctx context.Context) (bool, error) {
		var s corev1.Secret
		if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if len(s.Data) != len(want) {
			return false, nil
		}
		for k, v := range want {
			if !bytes.Equal(s.Data[k], []byte(v)) {
				return false, nil
			}
		}
		return true, nil
	})
}
