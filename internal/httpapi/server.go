// Package httpapi serves the controller's HTTP API, the one kubeseal clients
// reach through the API server's service proxy:
//
//	GET  /healthz       liveness: "ok"
//	GET  /v1/cert.pem   the current sealing certificate
//	POST /v1/verify     200 when every item of the posted SealedSecret opens, 409 when not
//	POST /v1/rotate     the posted SealedSecret re-sealed with the current key
//
// Paths, status codes and content types are Bitnami Sealed Secrets'. Responses
// never carry plaintext: verify answers yes or no, rotate returns ciphertext.
package httpapi

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/sealing"
)

// maxBody bounds a posted SealedSecret; a Secret is at most 1 MiB, and its
// sealed form grows by a third in base64 plus a wrapped key per item.
const maxBody = 4 << 20

// Keys is what the API needs from the controller's key registry.
type Keys interface {
	// PrivateKeys returns every active private key.
	PrivateKeys() []*rsa.PrivateKey
	// CurrentCert returns the PEM certificate and public key that new
	// sealing uses; ok is false while the controller has no key.
	CurrentCert() (certPEM []byte, pub *rsa.PublicKey, ok bool)
}

// Options configure the handler.
type Options struct {
	Keys Keys
	// RateLimit and RateBurst bound /v1/verify per client (per
	// X-Forwarded-For, as the API server proxy sets it). Zero means
	// Bitnami's defaults, 2 per second with a burst of 2; a negative
	// RateLimit turns the limit off.
	RateLimit float64
	RateBurst int
	// Registerer receives the HTTP metrics; nil registers none.
	Registerer prometheus.Registerer
	Log        logr.Logger
}

type server struct {
	keys    Keys
	limiter *clientLimiter
	log     logr.Logger
}

// New returns the API handler.
func New(o Options) (http.Handler, error) {
	if o.Keys == nil {
		return nil, errors.New("httpapi: no key registry")
	}
	if o.RateLimit == 0 {
		o.RateLimit = 2
	}
	if o.RateBurst == 0 {
		o.RateBurst = 2
	}
	s := &server{keys: o.Keys, log: o.Log}
	if o.RateLimit > 0 {
		s.limiter = newClientLimiter(o.RateLimit, o.RateBurst)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", m.instrument("/healthz", http.HandlerFunc(s.healthz)))
	mux.Handle("/v1/cert.pem", m.instrument("/v1/cert.pem", http.HandlerFunc(s.cert)))
	mux.Handle("/v1/verify", m.instrument("/v1/verify", s.rateLimited(http.HandlerFunc(s.verify))))
	mux.Handle("/v1/rotate", m.instrument("/v1/rotate", http.HandlerFunc(s.rotate)))
	mux.Handle("/", m.instrument("other", http.NotFoundHandler()))
	return mux, nil
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (s *server) cert(w http.ResponseWriter, _ *http.Request) {
	pem, _, ok := s.keys.CurrentCert()
	if !ok {
		http.Error(w, "the controller has no sealing key yet", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(pem)
}

func (s *server) verify(w http.ResponseWriter, r *http.Request) {
	if !postOnly(w, r) {
		return
	}
	ss, status, err := readSealedSecret(w, r)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	if _, err := sealing.Unseal(ss, s.keys.PrivateKeys()); err != nil {
		// UnsealError names items and causes, never values.
		s.log.V(1).Info("verify: SealedSecret does not open", "namespace", ss.Namespace, "name", ss.Name, "reason", err.Error())
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *server) rotate(w http.ResponseWriter, r *http.Request) {
	if !postOnly(w, r) {
		return
	}
	ss, status, err := readSealedSecret(w, r)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	_, pub, ok := s.keys.CurrentCert()
	if !ok {
		http.Error(w, "the controller has no sealing key yet", http.StatusInternalServerError)
		return
	}
	out, err := sealing.Reencrypt(ss, s.keys.PrivateKeys(), pub)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	body, err := sealing.Encode("json", out)
	if err != nil {
		http.Error(w, fmt.Sprintf("encoding the re-sealed SealedSecret: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// readSealedSecret decodes exactly one SealedSecret, JSON or YAML.
func readSealedSecret(w http.ResponseWriter, r *http.Request) (*ssv1.SealedSecret, int, error) {
	docs, err := sealing.ReadDocuments(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is larger than %d bytes", maxBody)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err)
	}
	if len(docs) != 1 {
		return nil, http.StatusBadRequest, fmt.Errorf("expected one SealedSecret in the request body, found %d documents", len(docs))
	}
	ss, err := sealing.DecodeSealedSecret(docs[0])
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	return ss, 0, nil
}

func postOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "use POST", http.StatusMethodNotAllowed)
	return false
}

func (s *server) rateLimited(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.limiter.allow(r.URL.Path + "|" + clientID(r)) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientID names the caller for rate limiting. Behind the API server's
// service proxy every request comes from the API server, so the first
// X-Forwarded-For address (the real client) is what tells callers apart.
func clientID(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(first)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
