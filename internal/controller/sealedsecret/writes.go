package sealedsecret

// The controller's memory of its own writes and of Secrets changed by
// someone else, between a write and the cache's event for it.

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/keyward/keyward/internal/keys"
)

// writeRecord is what a written Secret was made from.
type writeRecord struct {
	digest string
	fps    []string
}

func (r *Reconciler) markDrift(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drift == nil {
		r.drift = map[types.NamespacedName]bool{}
	}
	r.drift[key] = true
}

func (r *Reconciler) takeDrift(key types.NamespacedName) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.drift[key]
	delete(r.drift, key)
	return d
}

func (r *Reconciler) rememberWrite(key types.NamespacedName, digest string, fps []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.written == nil {
		r.written = map[types.NamespacedName]writeRecord{}
	}
	r.written[key] = writeRecord{digest: digest, fps: fps}
}

// forgetWrite drops the record of a write: the cache has an event for the
// Secret since (it shows the write, or something newer), or the
// SealedSecret is gone.
func (r *Reconciler) forgetWrite(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.written, key)
}

// justWrote says whether this controller wrote the Secret from digest,
// with keys all still active, and the cache has not caught up yet.
func (r *Reconciler) justWrote(key types.NamespacedName, digest string, active []keys.Key) ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.written[key]
	if !ok || digest == "" || w.digest != digest || !allActive(w.fps, active) {
		return nil, false
	}
	return w.fps, true
}
