package migrateseal

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// guard watches the Secrets of a namespace while a migration runs and
// records every moment one of them is gone or holds other data than it
// did. The watch is re-established (after a fresh list, itself checked)
// whenever it ends, as it does when the API server restarts.
type guard struct {
	ns   string
	want map[string]map[string][]byte
	uids map[string]types.UID

	mu         sync.Mutex
	violations []string
	events     int
	stop       func()
	done       chan struct{}
}

// watchSecrets starts a guard over the named Secrets, as they are now.
func watchSecrets(ctx context.Context, t *testing.T, ns string, names []string) *guard {
	t.Helper()
	g := &guard{ns: ns, want: map[string]map[string][]byte{}, uids: map[string]types.UID{}, done: make(chan struct{})}
	for _, n := range names {
		s, err := env.kube.CoreV1().Secrets(ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		g.want[n], g.uids[n] = s.Data, s.UID
	}
	ctx, cancel := context.WithCancel(ctx)
	g.stop = func() { cancel(); <-g.done }
	t.Cleanup(g.stop)
	go g.run(ctx)
	return g
}

func (g *guard) run(ctx context.Context) {
	defer close(g.done)
	for ctx.Err() == nil {
		list, err := env.kube.CoreV1().Secrets(g.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		seen := map[string]bool{}
		for i := range list.Items {
			seen[list.Items[i].Name] = true
			g.check("list", &list.Items[i])
		}
		for n := range g.want {
			if !seen[n] {
				g.fail("Secret %s missing from a list", n)
			}
		}
		w, err := env.kube.CoreV1().Secrets(g.ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*corev1.Secret)
			if !ok {
				continue
			}
			switch ev.Type {
			case watch.Deleted:
				if _, ok := g.want[s.Name]; ok {
					g.fail("Secret %s deleted", s.Name)
				}
			case watch.Added, watch.Modified:
				g.check(string(ev.Type), s)
			}
		}
		w.Stop()
	}
}

func (g *guard) check(how string, s *corev1.Secret) {
	want, ok := g.want[s.Name]
	if !ok {
		return
	}
	g.mu.Lock()
	g.events++
	g.mu.Unlock()
	if s.UID != g.uids[s.Name] {
		g.fail("Secret %s (%s) has a new UID: it was recreated", s.Name, how)
	}
	if len(s.Data) != len(want) {
		g.fail("Secret %s (%s) has %d items, had %d", s.Name, how, len(s.Data), len(want))
		return
	}
	for k, v := range want {
		if !bytes.Equal(s.Data[k], v) {
			g.fail("Secret %s (%s): item %q differs", s.Name, how, k)
		}
	}
}

func (g *guard) fail(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.violations = append(g.violations, fmt.Sprintf(format, args...))
}

// verify stops the guard and fails t with what it saw go wrong.
func (g *guard) verify(t *testing.T) {
	t.Helper()
	g.stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, v := range g.violations {
		t.Error(v)
	}
	if g.events == 0 {
		t.Error("the guard saw no Secret at all")
	}
}
