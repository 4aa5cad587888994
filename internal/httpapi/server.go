// Package httpapi serves the controller's HTTP API, the one kubeseal clients
// reach through the API server's service proxy:
//
//	GET  /healthz       liveness: "ok"
//	GET  /v1/cert.pem   the current sealing certificate
//	POST /v1/verify     200 when every item of the posted SealedSecret opens, 409 when not
//	POST /v1/rotate     the posted SealedSecret re-sealed with the current key
//	GET  /              the sealing page (package webui): sealing happens in the browser
//
// Paths, status codes and content types are Bitnami Sealed Secrets'. Responses
// never carry plaintext: verify answers yes or no, rotate returns ciphertext.
package httpapi

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/sealing"
	"github.com/keyward/keyward/internal/webui"
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
	// RateLimit and RateBurst bound /v1/verify and /v1/rotate per client:
	// per connecting peer and the rightmost X-Forwarded-For entry, the one
	// the API server's service proxy appends. Zero means Bitnami's
	// defaults, 2 per second with a burst of 2; a negative RateLimit turns
	// the per-client limit off.
	RateLimit float64
	RateBurst int
	// PeerRateLimit and PeerRateBurst bound the same requests per
	// connecting peer over every client it forwards for, so a caller that
	// connects directly cannot escape the limit by varying headers. Zero
	// means ten times the per-client figures (off with the per-client
	// limit); a negative PeerRateLimit turns the per-peer limit off.
	PeerRateLimit float64
	PeerRateBurst int
	// Registerer receives the HTTP metrics; nil registers none.
	Registerer prometheus.Registerer
	Log        logr.Logger
}

type server struct {
	keys   Keys
	limits *limits
	log    logr.Logger
}

// Replies that say why a request failed without repeating anything the
// caller sent or anything a decryption produced.
const (
	msgNotOne      = "the request body is not one SealedSecret in JSON or YAML"
	msgTooBig      = "the request body is too large"
	msgDoesNotOpen = "the SealedSecret does not open with the controller's keys"
)

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
	if o.PeerRateLimit == 0 && o.RateLimit > 0 {
		o.PeerRateLimit = 10 * o.RateLimit
	}
	if o.PeerRateBurst == 0 {
		o.PeerRateBurst = 10 * o.RateBurst
	}
	s := &server{keys: o.Keys, log: o.Log}
	l := &limits{}
	if o.RateLimit > 0 {
		l.client = newClientLimiter(o.RateLimit, o.RateBurst)
	}
	if o.PeerRateLimit > 0 {
		l.peer = newClientLimiter(o.PeerRateLimit, o.PeerRateBurst)
	}
	if l.client != nil || l.peer != nil {
		s.limits = l
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", m.instrument("/healthz", http.HandlerFunc(s.healthz)))
	mux.Handle("/v1/cert.pem", m.instrument("/v1/cert.pem", http.HandlerFunc(s.cert)))
	mux.Handle("/v1/verify", m.instrument("/v1/verify", s.rateLimited("/v1/verify", http.HandlerFunc(s.verify))))
	mux.Handle("/v1/rotate", m.instrument("/v1/rotate", s.rateLimited("/v1/rotate", http.HandlerFunc(s.rotate))))
	page, other := m.instrument("/", webui.Handler()), m.instrument("other", http.NotFoundHandler())
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if webui.IsPage(r.URL.Path) {
			page.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	}))
	// The page's headers go on every answer, the certificate it fetches
	// included; they mean nothing to kubeseal.
	return webui.WithHeaders(mux), nil
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
	ss := postedSealedSecret(w, r)
	if ss == nil {
		return
	}
	// Verify only decrypts: anyone may post a copy of anyone's SealedSecret
	// here with a template of their own, so nothing may be rendered, and
	// the answer is yes or no in fixed words.
	if err := sealing.Verify(ss, s.keys.PrivateKeys()); err != nil {
		s.log.V(1).Info("verify: "+msgDoesNotOpen, "namespace", ss.Namespace, "name", ss.Name)
		http.Error(w, msgDoesNotOpen, http.StatusConflict)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *server) rotate(w http.ResponseWriter, r *http.Request) {
	ss := postedSealedSecret(w, r)
	if ss == nil {
		return
	}
	_, pub, ok := s.keys.CurrentCert()
	if !ok {
		http.Error(w, "the controller has no sealing key yet", http.StatusInternalServerError)
		return
	}
	// Reencrypt renders no template; its errors name items and fixed
	// causes from package seal, which a kubeseal user needs to see.
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

// postedSealedSecret is the one SealedSecret a POST carries; otherwise it
// answers the request with the reason and returns nil.
func postedSealedSecret(w http.ResponseWriter, r *http.Request) *ssv1.SealedSecret {
	if !postOnly(w, r) {
		return nil
	}
	ss, status, msg := readSealedSecret(w, r)
	if ss == nil {
		http.Error(w, msg, status)
	}
	return ss
}

// readSealedSecret decodes exactly one SealedSecret, JSON or YAML. On
// failure it returns a status and a fixed message: a parser's error would
// quote the body back.
func readSealedSecret(w http.ResponseWriter, r *http.Request) (*ssv1.SealedSecret, int, string) {
	if r.ContentLength > maxBody {
		return nil, http.StatusRequestEntityTooLarge, msgTooBig
	}
	docs, err := sealing.ReadDocuments(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, msgTooBig
		}
		return nil, http.StatusBadRequest, msgNotOne
	}
	if len(docs) != 1 {
		return nil, http.StatusBadRequest, fmt.Sprintf("expected one SealedSecret in the request body, found %d documents", len(docs))
	}
	ss, err := sealing.DecodeSealedSecret(docs[0])
	if err != nil {
		return nil, http.StatusBadRequest, msgNotOne
	}
	return ss, 0, ""
}

func postOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "use POST", http.StatusMethodNotAllowed)
	return false
}

func (s *server) rateLimited(path string, next http.Handler) http.Handler {
	if s.limits == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if retry, ok := s.limits.allow(path, r, time.Now()); !ok {
			w.Header().Set("Retry-After", retryAfter(retry))
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}
