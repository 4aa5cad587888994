// Package eventrec gives the controllers an events.EventRecorder that writes
// core/v1 Events, as Bitnami's controller and ESO do.
//
// controller-runtime's events.k8s.io recorder keeps every Event it sent in
// memory for six minutes (to count series) and starts a goroutine per Event:
// after 2,000 SealedSecrets unseal at once that is megabytes held for
// nothing. The core/v1 recorder correlates through fixed-size caches and
// writes from one goroutine. Either API shows the same Events to
// `kubectl get events` and `kubectl describe`.
package eventrec

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
)

// CacheSize bounds each of the correlator's three caches (repeats counted,
// similar Events aggregated, spam limited per object), in objects.
// client-go's default, 4,096, holds about 1.3 KB for every object an Event
// was recorded for: 2.6 MB of heap once 2,000 SealedSecrets have unsealed,
// for Events that do not repeat. An object that repeats an Event while
// more than CacheSize others record Events gets a new Event rather than a
// higher count on its last one.
const CacheSize = 256

// For returns a recorder whose Events name component as their source,
// through a broadcaster of its own that stops with mgr.
func For(mgr ctrl.Manager, component string) (events.EventRecorder, error) {
	cs, err := corev1client.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("events of %s: creating a core/v1 client: %w", component, err)
	}
	b := newBroadcaster()
	if err := mgr.Add(stopper{b}); err != nil {
		b.Shutdown()
		return nil, fmt.Errorf("events of %s: %w", component, err)
	}
	b.StartRecordingToSink(&corev1client.EventSinkImpl{Interface: cs.Events("")})
	log := mgr.GetLogger().WithName("events").V(1)
	b.StartEventWatcher(func(e *corev1.Event) {
		log.Info(e.Message, "type", e.Type, "object", e.InvolvedObject, "reason", e.Reason)
	})
	return Recorder{b.NewRecorder(mgr.GetScheme(), corev1.EventSource{Component: component})}, nil
}

func newBroadcaster() record.EventBroadcaster {
	return record.NewBroadcaster(record.WithCorrelatorOptions(record.CorrelatorOptions{LRUCacheSize: CacheSize}))
}

// stopper shuts the broadcaster down when the manager stops, leader or not.
type stopper struct{ b record.EventBroadcaster }

func (s stopper) Start(ctx context.Context) error {
	<-ctx.Done()
	s.b.Shutdown()
	return nil
}

func (stopper) NeedLeaderElection() bool { return false }

// Recorder adapts a record.EventRecorder. The core/v1 Event has no action
// or related object, so those are dropped; the note becomes the message.
type Recorder struct {
	Rec record.EventRecorder
}

var _ events.EventRecorder = Recorder{}

// Eventf records an Event about regarding.
func (r Recorder) Eventf(regarding, _ runtime.Object, eventtype, reason, _ string, note string, args ...any) {
	if len(args) == 0 {
		r.Rec.Event(regarding, eventtype, reason, note)
		return
	}
	r.Rec.Eventf(regarding, eventtype, reason, note, args...)
}
