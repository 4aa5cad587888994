package storeruntime

import (
	"context"
	"fmt"

	"github.com/keyward/keyward/internal/provider"
)

// Dynamic makes the store issue a new credential. Unlike Read it is never
// cached nor coalesced: each call must yield a value of its own. It is
// rate-limited and counted like every other call.
func (s *Store) Dynamic(ctx context.Context, req provider.DynamicRequest) (map[string][]byte, error) {
	c, ok := s.currentClient().(provider.DynamicCaller)
	if !ok {
		return nil, fmt.Errorf("%s: the %s provider issues no dynamic secrets", s.label, s.providerName())
	}
	ctx, cancel := context.WithTimeout(ctx, s.m.opts.CallTimeout)
	defer cancel()
	var out map[string][]byte
	err := s.do(ctx, "Dynamic", func(ctx context.Context) error {
		var err error
		out, err = c.Dynamic(ctx, req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.label, err)
	}
	return out, nil
}
