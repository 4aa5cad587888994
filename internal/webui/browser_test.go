package webui_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/cli"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
	"github.com/keyward/keyward/internal/webui"
	browsertest "github.com/keyward/keyward/test/browser"
	"github.com/keyward/keyward/test/leak"
	"github.com/keyward/keyward/test/testkeys"
)

// certFor is a self-signed certificate for key, as the controller makes.
func certFor(t testing.TB, key *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sealed-secret"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// keyFile writes key as a PEM file for `keyward unseal --private-key`.
func keyFile(t testing.TB, key *rsa.PrivateKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// page is the sealing page open in a headless browser, served as
// `keyward serve-ui` serves it.
type page struct {
	ctx context.Context
	rec *browsertest.Recorder
	url string
}

func serve(t testing.TB, certPEM []byte) string {
	mux := http.NewServeMux()
	mux.Handle("/v1/cert.pem", webui.CertHandler(certPEM))
	mux.Handle("/", webui.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func openPage(t *testing.T, certPEM []byte) *page {
	t.Helper()
	ctx := browsertest.Start(t)
	p := &page{ctx: ctx, rec: browsertest.Record(t, ctx), url: serve(t, certPEM)}
	p.load(t)
	t.Cleanup(func() {
		if errs := p.rec.Errors(); len(errs) > 0 {
			t.Errorf("the page logged errors (CSP violations among them):\n%s", strings.Join(errs, "\n"))
		}
	})
	return p
}

func (p *page) load(t *testing.T) {
	t.Helper()
	p.run(t, chromedp.Navigate(p.url), browsertest.WaitJS(`document.body.dataset.cert === "loaded"`))
}

func (p *page) run(t testing.TB, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// set gives a control a value as a paste would, without key events.
func (p *page) set(sel, value string) chromedp.Action {
	v, _ := json.Marshal(value)
	return chromedp.Evaluate(`document.querySelector(`+strconvQuote(sel)+`).value = `+string(v)+`, true`, nil)
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (p *page) eval(t testing.TB, js string, out any) {
	t.Helper()
	p.run(t, chromedp.Evaluate(js, out))
}

type item struct {
	key, value string
	file       []byte // chosen as a file instead of typed
}

type form struct {
	name, namespace, scope, typ, format string
	items                               []item
	merge                               string
}

// seal fills the form (without the keyboard: that has its own test),
// presses Seal and returns the output, or the page's error.
func (p *page) seal(t *testing.T, f form) (string, string) {
	t.Helper()
	var n int
	p.eval(t, `document.querySelectorAll("fieldset.item").length`, &n)
	for ; n < len(f.items); n++ {
		p.run(t, chromedp.Click("#add-item", chromedp.ByID))
	}
	if f.merge != "" {
		p.run(t, p.set("#merge", f.merge))
		p.eval(t, `document.getElementById("merge").dispatchEvent(new Event("input")), true`, nil)
	} else {
		p.run(t, p.set("#name", f.name), p.set("#namespace", f.namespace))
	}
	if f.scope != "" {
		p.run(t, p.set("#scope", f.scope))
	}
	if f.typ != "" {
		p.run(t, p.set("#type", f.typ))
	}
	for i, it := range f.items {
		id := "#item-" + itoa(i+1)
		p.run(t, p.set(id+"-key", it.key))
		if it.file != nil {
			path := filepath.Join(t.TempDir(), it.key)
			os.WriteFile(path, it.file, 0o600)
			p.run(t, chromedp.SetUploadFiles(id+"-file", []string{path}, chromedp.ByID),
				browsertest.WaitJS(`document.getElementById("`+id[1:]+`-file").closest("fieldset").dataset.file === "read"`))
		} else {
			p.run(t, p.set(id+"-value", it.value))
		}
	}
	format := "#format-yaml"
	if f.format == "json" {
		format = "#format-json"
	}
	var out, errText string
	p.run(t, chromedp.Click(format, chromedp.ByID), chromedp.Click("#seal", chromedp.ByID),
		browsertest.WaitJS(`document.getElementById("output").value !== "" || document.getElementById("error").textContent !== ""`),
		chromedp.Value("#output", &out, chromedp.ByID), chromedp.Text("#error", &errText, chromedp.ByID))
	return out, errText
}

func itoa(i int) string { return string(rune('0' + i)) }

// open decrypts one value of the page's output with crypto/rsa and
// crypto/aes, reading the format by hand: uint16 len(W) || W || GCM.
func open(priv *rsa.PrivateKey, label []byte, b64 string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(ct) < 2 {
		return nil, errors.New("not base64 of a ciphertext")
	}
	n := int(ct[0])<<8 | int(ct[1])
	if n != priv.Size() || len(ct) < 2+n+16 {
		return nil, errors.New("wrapped key length is not the modulus size")
	}
	key, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ct[2:2+n], label)
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, errors.New("session key is not AES-256")
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	return gcm.Open(nil, make([]byte, 12), ct[2+n:], nil)
}

func label(scope, ns, name string) []byte {
	switch scope {
	case "cluster-wide":
		return nil
	case "namespace-wide":
		return []byte(ns)
	}
	return []byte(ns + "/" + name)
}

// unseal runs `keyward unseal` on a manifest and returns the Secret.
func unseal(t *testing.T, keyPath, manifest string) *corev1.Secret {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main([]string{"keyward", "unseal", "--private-key", keyPath, "-o", "json"},
		cli.Streams{In: strings.NewReader(manifest), Out: &out, Err: &errOut}, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("keyward unseal: exit %d: %s", code, errOut.String())
	}
	var s corev1.Secret
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("reading keyward unseal's output: %v", err)
	}
	return &s
}

// runSeal runs `keyward seal` (args after "seal") and returns its output.
func runSeal(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(append([]string{"keyward", "seal"}, args...),
		cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut}, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("keyward seal %v: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

func readSealed(t *testing.T, manifest string) *ssv1.SealedSecret {
	t.Helper()
	ss, err := sealing.ReadSealedSecrets(strings.NewReader(manifest))
	if err != nil || len(ss) != 1 {
		t.Fatalf("the page's output is not one SealedSecret (%v):\n%s", err, manifest)
	}
	return ss[0]
}

// masked replaces each ciphertext of ss in text with its key's name, so
// two sealings of the same Secret compare equal.
func masked(text string, ss *ssv1.SealedSecret) string {
	for k, v := range ss.Spec.EncryptedData {
		text = strings.ReplaceAll(text, v, "<sealed "+k+">")
	}
	return text
}

func secretYAML(name, ns, typ string, data map[string][]byte) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n")
	if ns != "" {
		b.WriteString("  namespace: " + ns + "\n")
	}
	b.WriteString("type: " + typ + "\ndata:\n")
	for k, v := range data {
		b.WriteString("  " + k + ": " + base64.StdEncoding.EncodeToString(v) + "\n")
	}
	return b.String()
}

// TestSealInBrowser seals in the page for every scope, both key sizes
// and both formats; each output opens with `keyward unseal` and with
// crypto/rsa by hand, and is `keyward seal`'s output but for the
// ciphertexts.
func TestSealInBrowser(t *testing.T) {
	binary := []byte{0, 1, 2, 0xff, 0xfe, '\n', 'k', 'w'}
	for _, bits := range []string{"2048", "4096"} {
		t.Run("RSA-"+bits, func(t *testing.T) {
			key := testkeys.RSA(t, bits)
			cert := certFor(t, key)
			certPath := filepath.Join(t.TempDir(), "cert.pem")
			os.WriteFile(certPath, cert, 0o600)
			kf := keyFile(t, key)
			p := openPage(t, cert)
			var fp, bitsShown string
			p.run(t, chromedp.Text("#cert-fingerprint", &fp, chromedp.ByID), chromedp.Text("#cert-bits", &bitsShown, chromedp.ByID))
			if want := keys.Fingerprint(&key.PublicKey); fp != want {
				t.Errorf("fingerprint shown %q, keyward keys list says %q", fp, want)
			}
			if bitsShown != "RSA "+bits+" bits" {
				t.Errorf("key shown as %q", bitsShown)
			}
			for _, scope := range []string{"strict", "namespace-wide", "cluster-wide"} {
				for _, format := range []string{"yaml", "json"} {
					t.Run(scope+"/"+format, func(t *testing.T) {
						ns := "team-" + format
						name := "db-" + scope
						want := map[string][]byte{
							"password": []byte("pw-" + scope + "-" + format + "-Zq7"),
							"note.txt": []byte("grüße ✓ " + scope),
							"blob":     binary,
						}
						out, errText := p.seal(t, form{name: name, namespace: ns, scope: scope, typ: "Opaque", format: format, items: []item{
							{key: "password", value: string(want["password"])},
							{key: "note.txt", value: string(want["note.txt"])},
							{key: "blob", file: binary},
						}})
						if errText != "" {
							t.Fatalf("the page says: %s", errText)
						}
						if (format == "json") != strings.HasPrefix(out, "{") {
							t.Fatalf("asked for %s, got:\n%s", format, out)
						}
						ss := readSealed(t, out)
						for k, v := range want {
							got, err := open(key, label(scope, ns, name), ss.Spec.EncryptedData[k])
							if err != nil || !bytes.Equal(got, v) {
								t.Errorf("item %s does not open by hand with the %s label: %v", k, scope, err)
							}
						}
						sec := unseal(t, kf, out)
						if sec.Name != name || sec.Namespace != ns || len(sec.Data) != len(want) {
							t.Fatalf("keyward unseal: %s/%s with %d items", sec.Namespace, sec.Name, len(sec.Data))
						}
						for k, v := range want {
							if !bytes.Equal(sec.Data[k], v) {
								t.Errorf("keyward unseal: item %s differs", k)
							}
						}
						args := []string{"--cert", certPath, "-o", format, "--scope", scope}
						cliOut := runSeal(t, secretYAML(name, ns, "Opaque", want), args...)
						if a, b := masked(out, ss), masked(cliOut, readSealed(t, cliOut)); a != b {
							t.Errorf("the page's output differs from keyward seal's:\npage:\n%s\nkeyward seal:\n%s", a, b)
						}
						p.run(t, chromedp.Click("#clear", chromedp.ByID))
					})
				}
			}
		})
	}
}

// TestMergeInto adds items to a pasted SealedSecret as `keyward seal
// --merge-into` does: it keeps the existing ciphertexts and the object's
// name, namespace and scope, and refuses a scope that contradicts it.
func TestMergeInto(t *testing.T) {
	key := testkeys.RSA(t, "2048")
	cert := certFor(t, key)
	certPath := filepath.Join(t.TempDir(), "cert.pem")
	os.WriteFile(certPath, cert, 0o600)
	kf := keyFile(t, key)
	p := openPage(t, cert)
	for _, tc := range []struct {
		scope, format string
	}{{"namespace-wide", "yaml"}, {"strict", "json"}, {"cluster-wide", "yaml"}} {
		t.Run(tc.scope+"/"+tc.format, func(t *testing.T) {
			p.load(t)
			first := runSeal(t, secretYAML("app", "shop", "Opaque", map[string][]byte{"first": []byte("first-value-Hk2")}),
				"--cert", certPath, "-o", tc.format, "--scope", tc.scope)
			firstSS := readSealed(t, first)
			out, errText := p.seal(t, form{merge: first, format: tc.format, items: []item{{key: "second", value: "second-value-Jp9"}}})
			if errText != "" {
				t.Fatalf("the page says: %s", errText)
			}
			var name, ns, scope string
			p.run(t, chromedp.Value("#name", &name, chromedp.ByID), chromedp.Value("#namespace", &ns, chromedp.ByID), chromedp.Value("#scope", &scope, chromedp.ByID))
			if name != "app" || ns != "shop" || scope != tc.scope {
				t.Errorf("the form shows %s/%s %s, not the pasted SealedSecret's", ns, name, scope)
			}
			ss := readSealed(t, out)
			if ss.Spec.EncryptedData["first"] != firstSS.Spec.EncryptedData["first"] {
				t.Error("the existing item was not kept as it was")
			}
			sec := unseal(t, kf, out)
			if string(sec.Data["first"]) != "first-value-Hk2" || string(sec.Data["second"]) != "second-value-Jp9" || len(sec.Data) != 2 {
				t.Fatalf("merged SealedSecret opens to %d items", len(sec.Data))
			}
			// keyward seal --merge-into on the same file, the same way.
			file := filepath.Join(t.TempDir(), "sealed."+tc.format)
			os.WriteFile(file, []byte(first), 0o600)
			runSeal(t, secretYAML("ignored", "", "Opaque", map[string][]byte{"second": []byte("second-value-Jp9")}),
				"--cert", certPath, "--merge-into", file)
			cliOut, _ := os.ReadFile(file)
			if a, b := masked(out, ss), masked(string(cliOut), readSealed(t, string(cliOut))); a != b {
				t.Errorf("the page's merge differs from keyward seal --merge-into's:\npage:\n%s\nkeyward seal:\n%s", a, b)
			}
			// A scope that contradicts the SealedSecret's is refused.
			other := "strict"
			if tc.scope == "strict" {
				other = "cluster-wide"
			}
			p.run(t, p.set("#scope", other), chromedp.Click("#seal", chromedp.ByID),
				browsertest.WaitJS(`document.getElementById("error").textContent !== ""`))
			var msg string
			p.run(t, chromedp.Text("#error", &msg, chromedp.ByID))
			if !strings.Contains(msg, "has "+tc.scope+" scope but the form says "+other) {
				t.Errorf("contradicting scope: %q", msg)
			}
			p.run(t, chromedp.Click("#clear", chromedp.ByID))
		})
	}
	t.Run("not a SealedSecret", func(t *testing.T) {
		p.load(t)
		_, errText := p.seal(t, form{merge: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n", items: []item{{key: "k", value: "v"}}})
		if !strings.Contains(errText, "not bitnami.com/v1alpha1 SealedSecret") {
			t.Errorf("pasting a Secret: %q", errText)
		}
	})
}

// TestInvalidInput: the page refuses what `keyward seal` refuses, naming
// the field and never the value.
func TestInvalidInput(t *testing.T) {
	key := testkeys.RSA(t, "2048")
	p := openPage(t, certFor(t, key))
	const secret = "never-show-me-4Xr"
	for _, tc := range []struct {
		name string
		f    form
		want string
	}{
		{"no name", form{namespace: "ns", items: []item{{key: "k", value: secret}}}, "a Secret name is required"},
		{"no namespace", form{name: "n", items: []item{{key: "k", value: secret}}}, "has no namespace"},
		{"bad key", form{name: "n", namespace: "ns", items: []item{{key: "a b", value: secret}}}, `key "a b" is not valid`},
		{"key twice", form{name: "n", namespace: "ns", items: []item{{key: "k", value: secret}, {key: "k", value: secret}}}, `key "k" is given twice`},
		{"no items", form{name: "n", namespace: "ns"}, "add at least one item"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.load(t)
			out, errText := p.seal(t, tc.f)
			if out != "" || !strings.Contains(errText, tc.want) {
				t.Fatalf("output %q, error %q; want an error with %q", out, errText, tc.want)
			}
			leak.CheckError(t, errText, secret)
		})
	}
}
