// Package azurefake is a wire-level stand-in for Azure Key Vault and the
// parts of Entra ID its clients use, for tests only: one TLS server that
// answers Key Vault's REST protocol (secrets: get, set, delete, list with
// nextLink paging) behind its 401 bearer challenge, and Entra ID's
// instance discovery, OpenID configuration and token endpoint (client
// secret, certificate and federated assertions) plus the App Service
// managed identity endpoint. Tests route every host to it with Transport,
// so the official clients keep their real host names and their challenge
// checks. It checks requests against the published REST reference
// (secret name rules, api-version, page size), counts calls and can fail
// chosen ones (429 with Retry-After, 403).
//
// Reference: https://learn.microsoft.com/rest/api/keyvault/secrets and
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
package azurefake

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Login is Entra ID's public-cloud host, where tokens are requested.
const Login = "login.microsoftonline.com"

var (
	secretPath = regexp.MustCompile(`^/secrets/([^/]+)(?:/([^/]*))?/?$`)
	nameRe     = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
	tenantPath = regexp.MustCompile(`^/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)$`)
)

// pageSize is what Key Vault returns per list page (its documented maximum).
const pageSize = 25

type version struct {
	id    string
	value string
}

type secret struct {
	versions []version
	tags     map[string]string
}

type failure struct {
	n      int
	status int
	code   string
	msg    string
}

// Server is the stand-in.
type Server struct {
	*httptest.Server
	// Tenant is the directory the challenge names.
	Tenant string
	// ClientSecrets maps client IDs to accepted secrets; certificate and
	// federated assertions are accepted for any client ID listed in
	// AssertionClients.
	ClientSecrets    map[string]string
	AssertionClients map[string]bool
	// MSIHeader is the X-IDENTITY-HEADER the managed identity endpoint expects.
	MSIHeader string

	mu         sync.Mutex
	secrets    map[string]*secret
	tokens     map[string]bool
	calls      map[string]int
	fail       map[string]*failure
	assertions []string
	next       int
}

// Start serves over TLS with a certificate for *.vault.azure.net,
// login.microsoftonline.com and 127.0.0.1.
func Start(tenant string) (*Server, error) {
	cert, err := selfSigned()
	if err != nil {
		return nil, err
	}
	s := &Server{Tenant: tenant, ClientSecrets: map[string]string{}, AssertionClients: map[string]bool{},
		secrets: map[string]*secret{}, tokens: map[string]bool{}, calls: map[string]int{}, fail: map[string]*failure{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.Server.StartTLS()
	return s, nil
}

// Transport is an HTTP client trusting the server and sending every
// connection, whatever its host, to it.
func (s *Server) Transport() *http.Client {
	addr := s.Listener.Addr().String()
	base := s.Server.Client().Transport.(*http.Transport).Clone()
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: base}
}

// Put seeds a secret version (creating the secret) with tags.
func (s *Server) Put(name, value string, tags map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(name, value, tags)
}

func (s *Server) put(name, value string, tags map[string]string) string {
	sec := s.secrets[name]
	if sec == nil {
		sec = &secret{}
		s.secrets[name] = sec
	}
	s.next++
	id := fmt.Sprintf("%032x", s.next)
	sec.versions = append(sec.versions, version{id: id, value: value})
	sec.tags = tags
	return id
}

// Fail makes the next n calls to op ("GetSecret", "SetSecret",
// "DeleteSecret", "ListSecrets", "Token") fail with status and code.
func (s *Server) Fail(op string, n, status int, code, msg string) {
	s.mu.Lock()
	s.fail[op] = &failure{n: n, status: status, code: code, msg: msg}
	s.mu.Unlock()
}

// Count returns the calls op received (challenged ones included).
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Assertions returns the client assertions presented to the token endpoint.
func (s *Server) Assertions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.assertions...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func kvError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	switch {
	case host == Login || r.URL.Path == "/msi/token":
		s.serveLogin(w, r)
	case strings.HasSuffix(host, ".vault.azure.net"):
		s.serveVault(w, r, host)
	default:
		http.Error(w, "unknown host "+host, http.StatusBadGateway)
	}
}

func (s *Server) failed(w http.ResponseWriter, op string) bool {
	f := s.fail[op]
	if f == nil || f.n == 0 {
		return false
	}
	f.n--
	if f.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	if op == "Token" {
		writeJSON(w, f.status, map[string]any{"error": f.code, "error_description": f.msg, "error_codes": []int{7000215}})
		return true
	}
	kvError(w, f.status, f.code, f.msg)
	return true
}

func (s *Server) issue() string {
	tok := fmt.Sprintf("kv-token-%d", len(s.tokens)+1)
	s.tokens[tok] = true
	return tok
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	base := "https://" + Login
	if r.URL.Path == "/common/discovery/instance" {
		writeJSON(w, http.StatusOK, map[string]any{
			"tenant_discovery_endpoint": base + "/" + s.Tenant + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []map[string]any{{"preferred_network": Login, "preferred_cache": "login.windows.net", "aliases": []string{Login, "login.windows.net"}}},
		})
		return
	}
	if r.URL.Path == "/msi/token" {
		s.calls["Token"]++
		if s.MSIHeader == "" || r.Header.Get("X-IDENTITY-HEADER") != s.MSIHeader || r.URL.Query().Get("resource") == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		if s.failed(w, "Token") {
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"access_token": s.issue(), "token_type": "Bearer",
			"expires_on": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), "resource": r.URL.Query().Get("resource")})
		return
	}
	m := tenantPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		http.NotFound(w, r)
		return
	}
	tenantBase := base + "/" + m[1]
	if m[2] != "oauth2/v2.0/token" {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": tenantBase + "/v2.0", "token_endpoint": tenantBase + "/oauth2/v2.0/token",
			"authorization_endpoint": tenantBase + "/oauth2/v2.0/authorize", "jwks_uri": tenantBase + "/discovery/v2.0/keys",
		})
		return
	}
	s.calls["Token"]++
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	if s.failed(w, "Token") {
		return
	}
	f := r.PostForm
	client := f.Get("client_id")
	ok := f.Get("grant_type") == "client_credentials" && m[1] == s.Tenant && hasDefaultScope(f.Get("scope"))
	switch {
	case f.Get("client_secret") != "":
		ok = ok && s.ClientSecrets[client] == f.Get("client_secret")
	case f.Get("client_assertion") != "":
		ok = ok && f.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" && s.AssertionClients[client]
		s.assertions = append(s.assertions, f.Get("client_assertion"))
	default:
		ok = false
	}
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client",
			"error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": []int{7000215}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": s.issue()})
}

func (s *Server) serveVault(w http.ResponseWriter, r *http.Request, host string) {
	op := map[string]string{http.MethodGet: "GetSecret", http.MethodPut: "SetSecret", http.MethodDelete: "DeleteSecret"}[r.Method]
	if r.URL.Path == "/secrets" || r.URL.Path == "/secrets/" {
		op = "ListSecrets"
	}
	s.calls[op]++
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || !s.tokens[strings.TrimPrefix(auth, "Bearer ")] {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="https://%s/%s", resource="https://vault.azure.net"`, Login, s.Tenant))
		kvError(w, http.StatusUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		kvError(w, http.StatusBadRequest, "BadParameter", "The 'api-version' query parameter is required.")
		return
	}
	if s.failed(w, op) {
		return
	}
	vault := "https://" + host
	if op == "ListSecrets" {
		s.list(w, r, vault)
		return
	}
	m := secretPath.FindStringSubmatch(r.URL.Path)
	if m == nil || !nameRe.MatchString(m[1]) {
		kvError(w, http.StatusBadRequest, "BadParameter", "The request URI contains an invalid name")
		return
	}
	name, ver := m[1], m[2]
	sec := s.secrets[name]
	switch r.Method {
	case http.MethodGet:
		if sec == nil {
			kvError(w, http.StatusNotFound, "SecretNotFound", fmt.Sprintf("A secret with (name/id) %s was not found in this key vault.", name))
			return
		}
		v := sec.versions[len(sec.versions)-1]
		if ver != "" {
			found := false
			for _, x := range sec.versions {
				if x.id == ver {
					v, found = x, true
				}
			}
			if !found {
				kvError(w, http.StatusNotFound, "SecretNotFound", fmt.Sprintf("A secret with (name/id) %s/%s was not found in this key vault.", name, ver))
				return
			}
		}
		writeJSON(w, http.StatusOK, bundle(vault, name, v, sec.tags))
	case http.MethodPut:
		var body struct {
			Value *string           `json:"value"`
			Tags  map[string]string `json:"tags"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Value == nil || ver != "" {
			kvError(w, http.StatusBadRequest, "BadParameter", "Property value is required.")
			return
		}
		if len(body.Tags) > 15 {
			kvError(w, http.StatusBadRequest, "BadParameter", "A secret has at most 15 tags.")
			return
		}
		s.put(name, *body.Value, body.Tags)
		sec = s.secrets[name]
		writeJSON(w, http.StatusOK, bundle(vault, name, sec.versions[len(sec.versions)-1], sec.tags))
	case http.MethodDelete:
		if sec == nil {
			kvError(w, http.StatusNotFound, "SecretNotFound", fmt.Sprintf("A secret with (name/id) %s was not found in this key vault.", name))
			return
		}
		delete(s.secrets, name)
		b := bundle(vault, name, sec.versions[len(sec.versions)-1], sec.tags)
		delete(b, "value")
		b["recoveryId"] = vault + "/deletedsecrets/" + name
		b["deletedDate"] = time.Now().Unix()
		writeJSON(w, http.StatusOK, b)
	default:
		kvError(w, http.StatusMethodNotAllowed, "BadParameter", "method not allowed")
	}
}

func bundle(vault, name string, v version, tags map[string]string) map[string]any {
	now := time.Now().Unix()
	b := map[string]any{"value": v.value, "id": vault + "/secrets/" + name + "/" + v.id,
		"attributes": map[string]any{"enabled": true, "created": now, "updated": now, "recoveryLevel": "Recoverable+Purgeable"}}
	if tags != nil {
		b["tags"] = tags
	}
	return b
}

// list answers GET /secrets with pages of at most 25 and a nextLink.
func (s *Server) list(w http.ResponseWriter, r *http.Request, vault string) {
	size := pageSize
	if v := r.URL.Query().Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > pageSize {
			kvError(w, http.StatusBadRequest, "BadParameter", "maxresults must be between 1 and 25")
			return
		}
		size = n
	}
	names := make([]string, 0, len(s.secrets))
	for n := range s.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	start, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	start = min(max(start, 0), len(names))
	end := min(start+size, len(names))
	items := []map[string]any{}
	for _, n := range names[start:end] {
		sec := s.secrets[n]
		item := map[string]any{"id": vault + "/secrets/" + n, "attributes": map[string]any{"enabled": true}}
		if sec.tags != nil {
			item["tags"] = sec.tags
		}
		items = append(items, item)
	}
	resp := map[string]any{"value": items, "nextLink": nil}
	if end < len(names) {
		resp["nextLink"] = fmt.Sprintf("%s/secrets?api-version=%s&$skiptoken=%d&maxresults=%d", vault, r.URL.Query().Get("api-version"), end, size)
	}
	writeJSON(w, http.StatusOK, resp)
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "azurefake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames:    []string{"*.vault.azure.net", Login, "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// hasDefaultScope: client credentials grants ask for "<resource>/.default"
// (MSAL may add openid, profile, offline_access beside it).
func hasDefaultScope(scope string) bool {
	for _, sc := range strings.Fields(scope) {
		if strings.HasSuffix(sc, "/.default") {
			return true
		}
	}
	return false
}
