// Package eventrec gives the controllers an events.EventRecorder that writes
// core/v1 Events, as Bitnami's controller and ESO do.
//
// controller-runtime's events.k8s.io recorder keeps every Event it sent in
// memory for six minutes (to count series) and starts a goroutine per Event:
// after 2,000 SealedSecrets unseal at once that is megabytes held for
// nothing. The core/v1 recorder correlates through small fixed-size caches
// and writes from one goroutine. Either API shows the same Events to
// `kubectl get events` and `kubectl describe`.
package eventrec

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
)

// For returns a recorder whose Events name component as their source.
func For(mgr ctrl.Manager, component string) events.EventRecorder {
	return Recorder{mgr.GetEventRecorderFor(component)}
}

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
