package provider

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
)

// sdkError stands for an SDK's error, whose text quotes the reply.
type sdkError struct{ body string }

func (e *sdkError) Error() string { return "reply: " + e.body }

func TestRemote(t *testing.T) {
	const canary = "Cn4ry-r3ply-b0dy"
	cause := &sdkError{canary}
	tests := []struct {
		name string
		err  error
		want string
		kind error
	}{
		{"403", Remote("vault", `GET secret/data/app`, 403, cause), "vault: GET secret/data/app: the server answered 403 Forbidden", ErrDenied},
		{"401", Remote("azure", "GetSecret", 401, cause), "azure: GetSecret: the server answered 401 Unauthorized", ErrDenied},
		{"404", Remote("azure", "GetSecret", 404, cause), "the server answered 404 Not Found", ErrNotFound},
		{"429", Remote("aws", "Get", 429, cause), "the server answered 429 Too Many Requests", ErrThrottled},
		{"500", Remote("aws", "Get", 500, cause), "the server answered 500 Internal Server Error", nil},
		{"code only", RemoteCode("gcp", "Access", 0, "PermissionDenied", ErrDenied, cause), "gcp: Access: the server answered PermissionDenied", ErrDenied},
		{"status and code", RemoteCode("", "", 400, "AccessDeniedException", nil, cause), "the server answered 400 Bad Request (AccessDeniedException)", nil},
		{"timeout", Remote("vault", "GET x", 0, fmt.Errorf("%s: %w", canary, context.DeadlineExceeded)), "vault: GET x: the call timed out", nil},
		{"refused", Remote("vault", "GET x", 0, &url.Error{Op: "Get", URL: "https://v/x", Err: &net.OpError{Op: "dial", Err: errors.New(canary)}}), "the server could not be reached", nil},
		{"tls alert", Remote("vault", "GET x", 0, &url.Error{Op: "Get", URL: "https://v/x", Err: tls.AlertError(116)}), "the server ended the TLS handshake: tls: certificate required", nil},
		{"dns", Remote("k", "op", 0, &net.DNSError{Name: canary, Err: "no such host"}), "the server's name does not resolve", nil},
		{"anything else", Remote("k", "op", 0, cause), "k: op: the call failed or its reply could not be read", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.err.Error(), canary) {
				t.Errorf("error carries the reply: %v", tt.err)
			}
			if !strings.Contains(tt.err.Error(), tt.want) {
				t.Errorf("error = %q, want it to hold %q", tt.err, tt.want)
			}
			for _, k := range []error{ErrNotFound, ErrDenied, ErrThrottled} {
				if errors.Is(tt.err, k) != (k == tt.kind) {
					t.Errorf("errors.Is(%v) = %v", k, !(k == tt.kind))
				}
			}
		})
	}
	var se *sdkError
	if !errors.As(Remote("v", "op", 403, cause), &se) {
		t.Error("the SDK error is no longer reachable with errors.As")
	}
	if Remote("v", "op", 0, nil) != nil {
		t.Error("no status and no cause should be no error")
	}
	var re *RemoteError
	if !errors.As(fmt.Errorf("wrapped: %w", Remote("v", "op", 502, cause)), &re) || re.Status != 502 {
		t.Error("the status is no longer reachable through a wrapped error")
	}
}
