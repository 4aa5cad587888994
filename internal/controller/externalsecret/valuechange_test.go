package externalsecret

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/esrender"
)

// The value-changed mark moves only when the data does: a refresh that
// fetches the same value, or a label change, keeps it.
func TestWriteMarksValueChanges(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0
	r := &Reconciler{Client: c, APIReader: c, Now: func() time.Time { return now }}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "es", Namespace: "ns", UID: "u1"}}
	rend := func(v string, labels map[string]string) esrender.Result {
		return esrender.Result{Data: map[string][]byte{"password": []byte(v)}, Labels: labels, Annotations: map[string]string{}}
	}
	steps := []struct {
		name       string
		at         time.Duration
		value      string
		labels     map[string]string
		wantReason string
		wantMark   time.Duration
	}{
		{"created", 0, "first-value", nil, esv1.EventReasonCreated, 0},
		{"same value refreshed", time.Hour, "first-value", nil, "", 0},
		{"label changed, value kept", 2 * time.Hour, "first-value", map[string]string{"team": "a"}, esv1.EventReasonUpdated, 0},
		{"value rotated", 3 * time.Hour, "second-value", map[string]string{"team": "a"}, esv1.EventReasonUpdated, 3 * time.Hour},
		{"rotated value refreshed", 4 * time.Hour, "second-value", map[string]string{"team": "a"}, "", 3 * time.Hour},
	}
	for _, st := range steps {
		now = t0.Add(st.at)
		var current *corev1.Secret
		s := &corev1.Secret{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "es"}, s); err == nil {
			current = s
		}
		reason, changed, err := r.write(context.Background(), es, "es", esv1.CreatePolicyOwner, current, rend(st.value, st.labels))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if reason != st.wantReason {
			t.Errorf("%s: reason %q, want %q", st.name, reason, st.wantReason)
		}
		got := &corev1.Secret{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "es"}, got); err != nil {
			t.Fatal(err)
		}
		if want := t0.Add(st.wantMark).Format(time.RFC3339); got.Annotations[ValueChangedAnnotation] != want || changed != want {
			t.Errorf("%s: %s = %q (write returned %q), want %q", st.name, ValueChangedAnnotation, got.Annotations[ValueChangedAnnotation], changed, want)
		}
	}
}

// A Secret adopted with the data it already had gets no mark: when its
// value last changed is not known.
func TestMarkValueChangeAdoptedUnchanged(t *testing.T) {
	have := &corev1.Secret{Data: map[string][]byte{"k": []byte("v")}}
	want := &corev1.Secret{Data: map[string][]byte{"k": []byte("v")}, ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
	markValueChange(want, have, time.Now())
	if _, ok := want.Annotations[ValueChangedAnnotation]; ok {
		t.Errorf("unchanged adopted Secret marked: %v", want.Annotations)
	}
}
