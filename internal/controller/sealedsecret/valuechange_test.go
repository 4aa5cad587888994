package sealedsecret

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
)

// The value-changed mark moves only when the Secret's data does: a new
// spec that unseals to the same values (a label added) keeps it.
func TestReconcileMarksValueChanges(t *testing.T) {
	a := testKey(t, "2048")
	ss := sealed(t, a)
	h := newHarness(t, []keys.Key{a}, ss)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0
	h.r.Now = func() time.Time { return now }

	respec := func(next *ssv1.SealedSecret) {
		t.Helper()
		got := &ssv1.SealedSecret{}
		if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(ss), got); err != nil {
			t.Fatal(err)
		}
		got.Spec = next.Spec
		got.Generation++
		if err := h.c.Update(context.Background(), got); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name     string
		at       time.Duration
		change   func()
		wantMark time.Duration
	}{
		{"created", 0, func() {}, 0},
		{"nothing to do", time.Hour, func() {}, 0},
		{"new spec, same values", 2 * time.Hour, func() {
			respec(sealed(t, a, func(s *corev1.Secret) { s.Labels["tier"] = "db" }))
		}, 0},
		{"value rotated", 3 * time.Hour, func() {
			respec(sealed(t, a, func(s *corev1.Secret) { s.Labels["tier"] = "db"; s.Data["password"] = []byte("rotated-value") }))
		}, 3 * time.Hour},
	}
	for _, st := range steps {
		now = t0.Add(st.at)
		st.change()
		h.reconcile(t, ss)
		sec := h.secret(t, "prod", "db")
		if want := t0.Add(st.wantMark).Format(time.RFC3339); sec.Annotations[ValueChangedAnnotation] != want {
			t.Errorf("%s: %s = %q, want %q", st.name, ValueChangedAnnotation, sec.Annotations[ValueChangedAnnotation], want)
		}
	}
	if sec := h.secret(t, "prod", "db"); sec.Labels["tier"] != "db" {
		t.Fatalf("the respecced SealedSecret was not applied: labels %v", sec.Labels)
	}
}

func TestMarkValueChange(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	old := "2025-01-01T00:00:00Z"
	secret := func(v, mark string) *corev1.Secret {
		s := &corev1.Secret{Data: map[string][]byte{"k": []byte(v)}}
		if mark != "" {
			s.Annotations = map[string]string{ValueChangedAnnotation: mark}
		}
		return s
	}
	tests := []struct {
		name        string
		out, before *corev1.Secret
		want        string
	}{
		{"new Secret", secret("v", ""), nil, now.Format(time.RFC3339)},
		{"same data keeps the mark", secret("v", ""), secret("v", old), old},
		{"same data, no mark before, none after", secret("v", "stale"), secret("v", ""), ""},
		{"changed data stamps now", secret("w", ""), secret("v", old), now.Format(time.RFC3339)},
	}
	for _, tt := range tests {
		got := markValueChange(tt.out, tt.before, now).Annotations[ValueChangedAnnotation]
		if got != tt.want {
			t.Errorf("%s: mark %q, want %q", tt.name, got, tt.want)
		}
	}
}
