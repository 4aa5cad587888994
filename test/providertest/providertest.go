// Package providertest holds the checks the stores' tests share: one read
// of a key's property against what a case expects, and many reads at once.
package providertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
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

// ReadWriter is a store client that PushSecret can write through.
type ReadWriter interface {
	provider.Client
	provider.Writer
}

// Push checks what every PushSecret target promises, on key "pushed":
// properties written one by one merge into one JSON value; writing a value
// again changes nothing (writes counts the store's writes); a secret the
// store did not create (foreign) is refused; and deleting the last
// property removes the secret.
func Push(ctx context.Context, t *testing.T, c ReadWriter, foreign string, writes func() int) {
	t.Helper()
	if err := c.Write(ctx, "pushed", "user", []byte("app")); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, "pushed", "password", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	n := writes()
	if err := c.Write(ctx, "pushed", "password", []byte("pw")); err != nil || writes() != n {
		t.Fatalf("unchanged write: %v", err)
	}
	if v, _ := c.Read(ctx, "pushed", ""); string(v.Value) != `{"password":"pw","user":"app"}` {
		t.Fatalf("pushed %q", v.Value)
	}
	if err := c.Write(ctx, foreign, "", []byte("mine")); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("foreign write: %v", err)
	}
	if err := c.Delete(ctx, "pushed", "user"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "pushed", "password"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, "pushed", ""); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("after deleting: %v", err)
	}
}

// FindPaged checks a find that spans several list pages: put stores
// app-00 … app-59, each holding its number, tagged env=dev for every third
// and env=prod otherwise. A find by name returns all 60; pages then checks
// how many list calls that took; a find by tag and name returns the four
// dev ones of app-0x.
func FindPaged(ctx context.Context, t *testing.T, c provider.Client, put func(name, value string, tags map[string]string), pages func()) {
	t.Helper()
	for i := range 60 {
		env := "prod"
		if i%3 == 0 {
			env = "dev"
		}
		put(fmt.Sprintf("app-%02d", i), fmt.Sprint(i), map[string]string{"env": env})
	}
	all, err := c.Find(ctx, esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^app-"}})
	if err != nil || len(all) != 60 || string(all["app-59"].Value) != "59" {
		t.Fatalf("find by name: %d %v", len(all), err)
	}
	pages()
	dev, err := c.Find(ctx, esv1.ExternalSecretFind{Tags: map[string]string{"env": "dev"}, Name: &esv1.FindName{RegExp: `-0\d$`}})
	if err != nil || len(dev) != 4 { // 00 03 06 09
		t.Fatalf("find by tag and name: %d %v", len(dev), err)
	}
}

// RemoteError is what a store's error must be when the remote refused.
type RemoteError struct {
	// Reply is what the remote answered: none of it may reach the error.
	Reply []string
	// Holds are texts the error must hold (a status, a known code, where
	// it came from).
	Holds []string
	// Prefix, when set, is how the error must start.
	Prefix string
	// Kind, when set, is an error it must wrap.
	Kind error
}

// CheckRemoteError fails t unless err is an error as want describes.
func CheckRemoteError(t *testing.T, err error, want RemoteError) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for _, r := range want.Reply {
		if strings.Contains(err.Error(), r) {
			t.Errorf("error carries the reply: %v", err)
		}
	}
	for _, h := range want.Holds {
		if !strings.Contains(err.Error(), h) {
			t.Errorf("error = %v, want it to hold %q", err, h)
		}
	}
	if !strings.HasPrefix(err.Error(), want.Prefix) {
		t.Errorf("error = %v, want it to start with %q", err, want.Prefix)
	}
	if want.Kind != nil && !errors.Is(err, want.Kind) {
		t.Errorf("errors.Is(%v) does not hold for %v", want.Kind, err)
	}
}

// Counter sums the series of counter name whose labels include labels.
func Counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
