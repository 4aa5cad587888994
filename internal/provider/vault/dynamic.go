package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/keyward/keyward/internal/provider"
)

// Dynamic implements provider.DynamicCaller: one call through the store's
// session, whose chosen part becomes the keys, strings as they are and
// anything else as JSON.
func (c *Client) Dynamic(ctx context.Context, req provider.DynamicRequest) (map[string][]byte, error) {
	path := strings.Trim(req.Path, "/")
	if path == "" {
		return nil, errors.New("path: required")
	}
	method := strings.ToUpper(req.Method)
	var sec *api.Secret
	err := c.session.do(ctx, func(a *api.Client) error {
		var err error
		switch method {
		case "", "GET":
			sec, err = a.Logical().ReadWithDataWithContext(ctx, path, req.Query)
		case "LIST":
			sec, err = a.Logical().ListWithContext(ctx, path)
		case "DELETE":
			sec, err = a.Logical().DeleteWithContext(ctx, path)
		default:
			sec, err = a.Logical().WriteWithContext(ctx, path, req.Parameters)
		}
		return err
	})
	if err != nil {
		return nil, vaultError(err)
	}
	if sec == nil {
		if req.AllowEmpty {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("%s %s: Vault answered with nothing (set allowEmptyResponse if that is expected)", methodName(method), path)
	}
	var part map[string]any
	switch req.Result {
	case "", "Data":
		part = sec.Data
	case "Auth", "Raw":
		var whole any = sec
		if req.Result == "Auth" {
			whole = sec.Auth
		}
		b, err := json.Marshal(whole)
		if err != nil {
			return nil, fmt.Errorf("encoding Vault's answer: %w", err)
		}
		if err := json.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("decoding Vault's answer: %w", err)
		}
	default:
		return nil, fmt.Errorf("resultType: %q is none of Data, Auth and Raw", req.Result)
	}
	if len(part) == 0 && !req.AllowEmpty {
		return nil, fmt.Errorf("%s %s: the %s part of Vault's answer is empty (set allowEmptyResponse if that is expected)", methodName(method), path, resultName(req.Result))
	}
	out := make(map[string][]byte, len(part))
	for k, v := range part {
		switch v := v.(type) {
		case nil:
			out[k] = nil
		case string:
			out[k] = []byte(v)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				// The error names the key only: the encoder's text could quote the value.
				return nil, fmt.Errorf("encoding key %q of Vault's answer as JSON failed", k)
			}
			out[k] = b
		}
	}
	return out, nil
}

func methodName(m string) string {
	if m == "" {
		return "GET"
	}
	return m
}

func resultName(r string) string {
	if r == "" {
		return "Data"
	}
	return r
}
