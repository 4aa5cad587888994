package gcpfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Auth stands in for Google's OAuth token endpoint (service-account JWT
// grants), STS (token exchange, for workload identity) and IAM Credentials
// (generateAccessToken, for impersonation). It hands out fixed tokens and
// counts what it was asked.
type Auth struct {
	*httptest.Server
	// Token is what a JWT grant returns; Federated what STS returns;
	// Impersonated what generateAccessToken returns.
	Token, Federated, Impersonated string

	mu       sync.Mutex
	calls    map[string]int
	subjects []string
	reject   bool
}

// StartAuth serves the three endpoints at /token, /v1/token and
// /v1/projects/-/serviceAccounts/{email}:generateAccessToken.
func StartAuth() *Auth {
	a := &Auth{Token: "sa-access-token", Federated: "federated-token", Impersonated: "impersonated-token", calls: map[string]int{}}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	return a
}

// Reject makes every grant fail as Google does for a revoked key.
func (a *Auth) Reject(on bool) {
	a.mu.Lock()
	a.reject = on
	a.mu.Unlock()
}

// Count returns the calls to "token", "sts" or "generateAccessToken".
func (a *Auth) Count(endpoint string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[endpoint]
}

// Subjects returns the subject tokens STS received.
func (a *Auth) Subjects() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.subjects...)
}

func (a *Auth) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/token":
		a.calls["token"]++
		if a.reject || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.Form.Get("assertion") == "" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": a.Token, "token_type": "Bearer", "expires_in": 3600})
	case r.URL.Path == "/v1/token":
		a.calls["sts"]++
		a.subjects = append(a.subjects, r.Form.Get("subject_token"))
		if a.reject || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" ||
			!strings.HasPrefix(r.Form.Get("audience"), "identitynamespace:") {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "The audience or token is invalid."})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": a.Federated, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
			"token_type": "Bearer", "expires_in": 3600})
	case strings.HasPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/") && strings.HasSuffix(r.URL.Path, ":generateAccessToken"):
		a.calls["generateAccessToken"]++
		if r.Header.Get("Authorization") != "Bearer "+a.Federated {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 401, "status": "UNAUTHENTICATED"}})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"accessToken": a.Impersonated, "expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	default:
		http.NotFound(w, r)
	}
}

// SelfSigned makes a certificate for 127.0.0.1 and a pool trusting it, for
// serving the fake over TLS.
func SelfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gcpfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
