package provider

import "context"

// DynamicRequest is one call that makes the store issue a new credential
// (a Vault dynamic secret: a certificate, a database login, a token).
type DynamicRequest struct {
	// Method is the HTTP method; "" means GET.
	Method string
	// Path is the store's API path.
	Path string
	// Parameters is the body of a write.
	Parameters map[string]any
	// Query is the query string of a GET.
	Query map[string][]string
	// Result picks the part of the answer returned: "Data" (or ""), "Auth" or "Raw".
	Result string
	// AllowEmpty makes an empty answer yield no keys instead of an error.
	AllowEmpty bool
}

// DynamicCaller is implemented by clients of stores that issue credentials
// on request. Nothing of the answer is cached: every call is a new one.
type DynamicCaller interface {
	Dynamic(ctx context.Context, req DynamicRequest) (map[string][]byte, error)
}
