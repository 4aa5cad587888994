// Package scale makes the objects of the SealedSecrets-at-scale
// measurements (many SealedSecrets of one item each, many unrelated
// Secrets), creates them with parallel writers, and watches for the
// Secrets a controller makes from them. The e2e benchmark and
// `make bench-peers` share it, so both measure the same thing.
package scale

import (
	"context"
	"crypto/rsa"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/sealing"
)

// CreateAll creates objs with writers goroutines, as a GitOps tool applying
// a folder does, and returns every failure. progress, when set, is called
// from the writers with the number created so far.
func CreateAll(ctx context.Context, c client.Client, objs []client.Object, writers int, progress func(created int)) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		done atomic.Int64
	)
	next := make(chan client.Object)
	for range writers {
		wg.Go(func() {
			for o := range next {
				if err := c.Create(ctx, o); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("creating %T %s/%s: %w", o, o.GetNamespace(), o.GetName(), err))
					mu.Unlock()
					continue
				}
				if n := done.Add(1); progress != nil {
					progress(int(n))
				}
			}
		})
	}
	for _, o := range objs {
		next <- o
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d creates failed, first: %w", len(errs), len(objs), errs[0])
	}
	return nil
}

// UnrelatedSecrets are n Opaque Secrets "unrelated-<i>" in ns of one item
// of size bytes: what a controller that watches every Secret must hold.
func UnrelatedSecrets(ns string, n, size int) []client.Object {
	filler := strings.Repeat("x", size)
	objs := make([]client.Object, n)
	for i := range objs {
		objs[i] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("unrelated-%05d", i)},
			StringData: map[string]string{"blob": filler}}
	}
	return objs
}

// SealMany seals n SealedSecrets "s-<i>" in ns for pub, each of one item
// v=value-<i> (one RSA-OAEP-wrapped session key each), strict scope.
func SealMany(pub *rsa.PublicKey, ns string, n int) ([]*ssv1.SealedSecret, error) {
	out := make([]*ssv1.SealedSecret, n)
	for i := range out {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("s-%d", i)},
			StringData: map[string]string{"v": Value(i)}}
		ss, err := sealing.Seal(s, pub, sealing.Options{})
		if err != nil {
			return nil, fmt.Errorf("sealing %s/%s: %w", ns, s.Name, err)
		}
		out[i] = ss
	}
	return out, nil
}

// Value is the plaintext SealMany seals into SealedSecret i.
func Value(i int) string { return fmt.Sprintf("value-%d", i) }

// CheckValues says whether the n Secrets "s-<i>" in ns hold exactly
// v=value-<i>, so a controller that wrote something else cannot pass for
// fast. Errors name the Secret, never its content.
func CheckValues(ctx context.Context, api typedcorev1.SecretInterface, n int) error {
	list, err := api.List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing the Secrets: %w", err)
	}
	byName := make(map[string]*corev1.Secret, len(list.Items))
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	for i := range n {
		name := fmt.Sprintf("s-%d", i)
		s, ok := byName[name]
		if !ok {
			return fmt.Errorf("no Secret %s", name)
		}
		if len(s.Data) != 1 || string(s.Data["v"]) != Value(i) {
			return fmt.Errorf("Secret %s does not hold the value sealed into SealedSecret %s", name, name)
		}
	}
	return nil
}

// Watch counts the Secrets that appear in a namespace.
type Watch struct {
	seen atomic.Int64
	done chan time.Time
}

// WatchSecrets lists the Secrets of api that opts selects, then watches
// them (cheaper for the API server than listing thousands in a loop; it
// lists again when a watch ends) until n distinct ones were seen or ctx
// ends. The list is made before it returns: whatever is created after it
// is seen.
func WatchSecrets(ctx context.Context, api typedcorev1.SecretInterface, opts metav1.ListOptions, n int) (*Watch, error) {
	list, err := api.List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing Secrets: %w", err)
	}
	w := &Watch{done: make(chan time.Time, 1)}
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			w.seen.Store(int64(len(seen)))
		}
	}
	for _, s := range list.Items {
		add(s.Name)
	}
	rv := list.ResourceVersion
	go func() {
		for ctx.Err() == nil && len(seen) < n {
			if rv == "" {
				l, err := api.List(ctx, opts)
				if err != nil {
					pause(ctx)
					continue
				}
				for _, s := range l.Items {
					add(s.Name)
				}
				rv = l.ResourceVersion
			}
			wo := opts
			wo.ResourceVersion = rv
			ch, err := api.Watch(ctx, wo)
			if err != nil {
				rv = ""
				pause(ctx)
				continue
			}
			for ev := range ch.ResultChan() {
				if s, ok := ev.Object.(*corev1.Secret); ok && ev.Type == watch.Added {
					add(s.Name)
					rv = s.ResourceVersion
					if len(seen) >= n {
						break
					}
				} else if ev.Type == watch.Error {
					rv = ""
					break
				}
			}
			ch.Stop()
		}
		if len(seen) >= n {
			w.done <- time.Now()
		}
	}()
	return w, nil
}

// pause waits a little before a retry, so a failing API server is not
// asked again in a tight loop.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(100 * time.Millisecond):
	}
}

// Done receives the time at which the n-th Secret was seen.
func (w *Watch) Done() <-chan time.Time { return w.done }

// Seen is how many distinct Secrets were seen so far.
func (w *Watch) Seen() int { return int(w.seen.Load()) }
