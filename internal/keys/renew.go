package keys

import (
	"context"
	"time"

	"github.com/go-logr/logr"
)

// Renewer makes new sealing keys: at start when there is none, or when the
// newest predates Cutoff; then whenever the newest key reaches Period of
// age; and each time Trigger fires (SIGUSR1 in the controller). Old keys are
// never deleted, so everything sealed before keeps opening. Run it on the
// leader only, or two replicas would both renew.
type Renewer struct {
	Registry *Registry
	// Period is --key-renew-period; zero or negative turns periodic
	// renewal off.
	Period time.Duration
	// Cutoff is --key-cutoff-time; zero means none.
	Cutoff time.Time
	// Trigger forces a renewal per value received; nil never fires.
	Trigger <-chan struct{}
	// RetryAfter paces attempts after a failed renewal (default 30s).
	RetryAfter time.Duration
	Log        logr.Logger
	Now        func() time.Time
}

// NeedLeaderElection is true: one replica renews for all.
func (w *Renewer) NeedLeaderElection() bool { return true }

// Start renews until ctx ends.
func (w *Renewer) Start(ctx context.Context) error {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.RetryAfter <= 0 {
		w.RetryAfter = 30 * time.Second
	}
	select {
	case <-w.Registry.Ready():
	case <-ctx.Done():
		return nil
	}
	changed := w.Registry.Subscribe()
	// The cutoff is checked once, at start, as Bitnami does: a key made
	// now always postdates a cutoff in the past.
	due, wait := w.due(true)
	for {
		if due {
			if _, err := w.Registry.Rotate(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				w.Log.Error(err, "renewing the sealing key failed; retrying", "after", w.RetryAfter)
				wait = w.RetryAfter
			} else {
				due, wait = w.due(false)
				continue
			}
		}
		var t *time.Timer
		var timer <-chan time.Time
		if wait > 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
		due = false
		select {
		case <-ctx.Done():
		case <-timer:
			due, wait = w.due(false)
		case <-changed:
			// A key added by hand moves the next renewal.
			due, wait = w.due(false)
		case <-w.Trigger:
			due = true
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// due says whether a key should be made now, and else how long until one
// should (0: never, unless triggered).
func (w *Renewer) due(atStart bool) (bool, time.Duration) {
	newest, ok := w.Registry.Current()
	if !ok {
		return true, 0
	}
	now := w.Now()
	if atStart && !w.Cutoff.IsZero() && !w.Cutoff.After(now) && newest.Created.Before(w.Cutoff) {
		return true, 0
	}
	if w.Period <= 0 {
		return false, 0
	}
	left := newest.Created.Add(w.Period).Sub(now)
	if left <= 0 {
		return true, 0
	}
	return false, left
}
