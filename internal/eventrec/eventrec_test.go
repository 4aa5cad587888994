package eventrec

import (
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
)

func TestRecorderKeepsTypeReasonAndNote(t *testing.T) {
	obj := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db"}}
	for _, tt := range []struct {
		name, note string
		args       []any
		want       string
	}{
		{"formatted", "Created Secret %s", []any{"db"}, "Normal Created Created Secret db"},
		// A note without arguments is taken as is: a % in it is not a verb.
		{"literal", "100% of keys opened", nil, "Normal Created 100% of keys opened"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := record.NewFakeRecorder(1)
			Recorder{fake}.Eventf(obj, nil, corev1.EventTypeNormal, "Created", "Sync", tt.note, tt.args...)
			if got := <-fake.Events; got != tt.want {
				t.Errorf("event %q, want %q", got, tt.want)
			}
		})
	}
}

// sink counts what the broadcaster writes.
type sink struct {
	mu             sync.Mutex
	created, patch int
}

func (s *sink) Create(e *corev1.Event) (*corev1.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created++
	return e, nil
}
func (s *sink) Update(e *corev1.Event) (*corev1.Event, error) { return e, nil }
func (s *sink) Patch(e *corev1.Event, _ []byte) (*corev1.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patch++
	return e, nil
}

func (s *sink) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created, s.patch
}

// The correlator remembers CacheSize objects: a repeat is counted on the
// Event already written unless more objects recorded Events since.
func TestCorrelatorRemembersCacheSizeObjects(t *testing.T) {
	for _, tt := range []struct {
		name      string
		between   int // objects recording an Event between the two
		wantPatch int
	}{
		{"repeat counted", CacheSize - 1, 1},
		{"repeat after more than CacheSize others", CacheSize + 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroadcaster()
			defer b.Shutdown()
			s := &sink{}
			b.StartRecordingToSink(s)
			rec := Recorder{b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "test"})}
			secret := func(i int) *corev1.Secret {
				return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: fmt.Sprintf("s-%d", i), UID: types.UID(fmt.Sprint(i))}}
			}
			note := func(o *corev1.Secret) {
				rec.Eventf(o, nil, corev1.EventTypeNormal, "Unsealed", "Sync", "SealedSecret unsealed")
			}
			note(secret(0))
			for i := 1; i <= tt.between; i++ {
				note(secret(i))
			}
			note(secret(0))
			want := tt.between + 2 - tt.wantPatch
			deadline := time.Now().Add(10 * time.Second)
			for {
				created, patched := s.counts()
				if created+patched == tt.between+2 {
					if patched != tt.wantPatch || created != want {
						t.Fatalf("%d created, %d patched; want %d, %d", created, patched, want, tt.wantPatch)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("only %d created, %d patched of %d Events", created, patched, tt.between+2)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
