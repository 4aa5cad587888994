package webui_test

import (
	"bytes"
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

func serve(t testing.TB, certPEM []byte) string {
	mux := http.NewServeMux()
	mux.Handle("/v1/cert.pem", webui.CertHandler(certPEM))
	mux.Handle("/", webui.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func openPage(t *testing.T, certPEM []byte) *browsertest.Page {
	t.Helper()
	return browsertest.Open(t, serve(t, certPEM))
}

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
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  Name: " + name + "\n")
	if ns != "" {
		b.WriteString("  Namespace: " + ns + "\n")
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
			p.Run(t, chromedp.Text("#cert-fingerprint", &fp, chromedp.ByID), chromedp.Text("#cert-bits", &bitsShown, chromedp.ByID))
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
						out, errText := p.Seal(t, browsertest.Form{Name: name, Namespace: ns, Scope: scope, Type: "Opaque", Format: format, Items: []browsertest.Item{
							{Key: "password", Value: string(want["password"])},
							{Key: "note.txt", Value: string(want["note.txt"])},
							{Key: "blob", File: binary},
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
						p.Run(t, chromedp.Click("#clear", chromedp.ByID))
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
			p.Load(t)
			first := runSeal(t, secretYAML("app", "shop", "Opaque", map[string][]byte{"first": []byte("first-value-Hk2")}),
				"--cert", certPath, "-o", tc.format, "--scope", tc.scope)
			firstSS := readSealed(t, first)
			out, errText := p.Seal(t, browsertest.Form{Merge: first, Format: tc.format, Items: []browsertest.Item{{Key: "second", Value: "second-value-Jp9"}}})
			if errText != "" {
				t.Fatalf("the page says: %s", errText)
			}
			var name, ns, scope string
			p.Run(t, chromedp.Value("#name", &name, chromedp.ByID), chromedp.Value("#namespace", &ns, chromedp.ByID), chromedp.Value("#scope", &scope, chromedp.ByID))
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
			p.Run(t, browsertest.Set("#scope", other), chromedp.Click("#seal", chromedp.ByID),
				browsertest.WaitJS(`document.getElementById("error").textContent !== ""`))
			var msg string
			p.Run(t, chromedp.Text("#error", &msg, chromedp.ByID))
			if !strings.Contains(msg, "has "+tc.scope+" scope but the form says "+other) {
				t.Errorf("contradicting Scope: %q", msg)
			}
			p.Run(t, chromedp.Click("#clear", chromedp.ByID))
		})
	}
	t.Run("not a SealedSecret", func(t *testing.T) {
		p.Load(t)
		_, errText := p.Seal(t, browsertest.Form{Merge: "apiVersion: v1\nkind: Secret\nmetadata:\n  Name: x\n", Items: []browsertest.Item{{Key: "k", Value: "v"}}})
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
		f    browsertest.Form
		want string
	}{
		{"no name", browsertest.Form{Namespace: "ns", Items: []browsertest.Item{{Key: "k", Value: secret}}}, "a Secret name is required"},
		{"no namespace", browsertest.Form{Name: "n", Items: []browsertest.Item{{Key: "k", Value: secret}}}, "has no namespace"},
		{"bad key", browsertest.Form{Name: "n", Namespace: "ns", Items: []browsertest.Item{{Key: "a b", Value: secret}}}, `key "a b" is not valid`},
		{"key twice", browsertest.Form{Name: "n", Namespace: "ns", Items: []browsertest.Item{{Key: "k", Value: secret}, {Key: "k", Value: secret}}}, `key "k" is given twice`},
		{"no items", browsertest.Form{Name: "n", Namespace: "ns"}, "add at least one item"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.Load(t)
			out, errText := p.Seal(t, tc.f)
			if out != "" || !strings.Contains(errText, tc.want) {
				t.Fatalf("output %q, error %q; want an error with %q", out, errText, tc.want)
			}
			leak.CheckError(t, errText, secret)
		})
	}
}
