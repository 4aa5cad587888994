// Package providertest holds the checks the stores' tests share: one read
// of a key's property against what a case expects, and many reads at once.
package providertest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/internal/provider"
)

// Expect is what one read should give: provider.ErrNotFound, another error
// (holding ErrText when it is set), or Value.
type Expect struct {
	Value    string
	NotFound bool
	Err      bool
	ErrText  string
}

// Read reads key at version from c, takes property prop of it (the whole
// value when prop is empty) and fails t unless that is what want says.
func Read(ctx context.Context, t *testing.T, c provider.Client, key, version, prop string, want Expect) {
	t.Helper()
	s, err := c.Read(ctx, key, version)
	var v []byte
	if err == nil {
		v, err = s.Property(prop)
	}
	switch {
	case want.NotFound:
		if !errors.Is(err, provider.ErrNotFound) {
			t.Fatalf("err = %v, want not found", err)
		}
	case want.Err:
		if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), want.ErrText) {
			t.Fatalf("err = %v, want an error holding %q", err, want.ErrText)
		}
	case err != nil:
		t.Fatal(err)
	case string(v) != want.Value:
		t.Fatalf("got %q, want %q", v, want.Value)
	}
}

// AtOnce calls read(0) … read(n-1) concurrently and fails t for every
// error; it returns when all have returned.
func AtOnce(t *testing.T, n int, read func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := read(i); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
