package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// Error kinds a remote reply can carry besides ErrNotFound, for callers
// that branch on them with errors.Is.
var (
	// ErrDenied: the store refused the credentials or the access (401, 403).
	ErrDenied = errors.New("access denied by the store")
	// ErrThrottled: the store asked to slow down (429).
	ErrThrottled = errors.New("throttled by the store")
)

// RemoteError is a failed call to a remote store, told with the provider,
// the operation, the HTTP status and a fixed phrase. The reply's body and
// the SDK's own message are never part of its text: the server may be one
// a namespace user chose (Vault server, Azure vaultUrl, an endpoint), and
// its reply can echo anything, secret values included.
type RemoteError struct {
	Provider string // "vault"
	Op       string // `reading secret "app"`
	Status   int    // HTTP status; 0 when the call got no reply
	// Code is the reply's status from an SDK's fixed set (a gRPC code name)
	// for protocols without an HTTP status; "" otherwise.
	Code  string
	kind  error
	cause error
}

func (e *RemoteError) Error() string {
	var what string
	switch {
	case e.Status > 0 && e.Code != "":
		what = fmt.Sprintf("the server answered %d %s (%s)", e.Status, http.StatusText(e.Status), e.Code)
	case e.Status > 0:
		what = fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
	case e.Code != "":
		what = "the server answered " + e.Code
	default:
		what = failurePhrase(e.cause)
	}
	// Provider and Op are left out when the caller's own wrapping names them.
	if e.Op != "" {
		what = e.Op + ": " + what
	}
	if e.Provider != "" {
		what = e.Provider + ": " + what
	}
	return what
}

// Unwrap exposes the kind (ErrNotFound, ErrDenied, ErrThrottled) and the
// SDK's error, so errors.Is and errors.As keep working. The SDK's error must
// not be printed: its text can quote the reply.
func (e *RemoteError) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// Remote builds the error for a failed call to a store: status is the
// reply's HTTP status (0 when there was none, or it is unknown), cause the
// SDK's error. A nil cause with status 0 gives nil.
func Remote(providerName, op string, status int, cause error) error {
	if cause == nil && status == 0 {
		return nil
	}
	return &RemoteError{Provider: providerName, Op: op, Status: status, kind: statusKind(status), cause: cause}
}

// RemoteCode is Remote with a code from an SDK's fixed set (a gRPC code
// name, or an AWS error code the caller checked against its own list):
// never free text from the reply. status may be 0; kind is ErrNotFound,
// ErrDenied, ErrThrottled or nil (then taken from status).
func RemoteCode(providerName, op string, status int, code string, kind, cause error) error {
	if kind == nil {
		kind = statusKind(status)
	}
	return &RemoteError{Provider: providerName, Op: op, Status: status, Code: code, kind: kind, cause: cause}
}

func statusKind(status int) error {
	switch status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrDenied
	case http.StatusTooManyRequests:
		return ErrThrottled
	}
	return nil
}

// failurePhrase describes a call that got no HTTP reply, from a fixed set:
// the transport's messages can hold a reply's bytes or a certificate's names.
func failurePhrase(err error) string {
	var (
		cve   *tls.CertificateVerificationError
		ua    x509.UnknownAuthorityError
		hn    x509.HostnameError
		ci    x509.CertificateInvalidError
		ne    net.Error
		dnse  *net.DNSError
		ope   *net.OpError
		alert tls.AlertError
	)
	switch {
	case err == nil:
		return "the call failed"
	case errors.Is(err, context.DeadlineExceeded):
		return "the call timed out"
	case errors.Is(err, context.Canceled):
		return "the call was canceled"
	case errors.As(err, &cve), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci):
		return "the server's TLS certificate was not accepted"
	case errors.As(err, &alert):
		// An alert is a code from TLS's fixed set.
		return "the server ended the TLS handshake: " + alert.Error()
	case errors.As(err, &dnse):
		return "the server's name does not resolve"
	case errors.As(err, &ne) && ne.Timeout():
		return "the call timed out"
	case errors.As(err, &ope):
		return "the server could not be reached"
	}
	return "the call failed or its reply could not be read"
}
