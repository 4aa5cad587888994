package reload

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/time/rate"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// The reconcile steps against fake clients: record on first sight, nothing
// for an unused key, a restart that changes only the annotations for a
// used one, and no value in what is written or said.
func TestReconcileSteps(t *testing.T) {
	ctx := context.Background()
	const usedV1, usedV2, unusedV2 = "v1-pl4nted", "v2-pl4nted", "u2-pl4nted"
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Annotations: map[string]string{ReloaderAuto: "true"}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c",
			Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "app"}, Key: "used"}}}}}}}}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(d).Build()
	kube := k8sfake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"}, Data: map[string][]byte{"used": []byte(usedV1), "unused": []byte("u1")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "keys", Name: KeySecretName}, Data: map[string][]byte{"key": []byte("0123456789abcdef0123456789abcdef")}},
	)
	rec := events.NewFakeRecorder(10)
	m, err := NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: c, Kube: kube.CoreV1(), Recorder: rec, Metrics: m, Limiter: rate.NewLimiter(rate.Inf, 1),
		KeyNamespace: "keys", digests: map[string]digest{}, last: map[request]map[string]string{}}
	req := request{Kind: "Deployment", Namespace: "ns", Name: "web"}
	get := func() *appsv1.Deployment {
		var got appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "web"}, &got); err != nil {
			t.Fatal(err)
		}
		return &got
	}
	step := func() {
		t.Helper()
		if _, err := r.Reconcile(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	setSecret := func(key, value string) {
		s, err := kube.CoreV1().Secrets("ns").Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Data[key] = []byte(value)
		if _, err := kube.CoreV1().Secrets("ns").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	step()
	first := get()
	if first.Annotations[ObservedAnnotation] == "" || first.Spec.Template.Annotations[HashAnnotation] != "" {
		t.Fatalf("first sight: observed %q, template hash %q; want recorded, not restarted",
			first.Annotations[ObservedAnnotation], first.Spec.Template.Annotations[HashAnnotation])
	}

	step()
	setSecret("unused", unusedV2)
	step()
	if got := get(); got.ResourceVersion != first.ResourceVersion {
		t.Fatal("written again though no used value changed")
	}

	setSecret("used", usedV2)
	step()
	after := get()
	hash := after.Spec.Template.Annotations[HashAnnotation]
	if hash == "" {
		t.Fatal("a used key changed and the pod template has no new hash")
	}
	// Nothing but the two annotations changed.
	strip := func(d *appsv1.Deployment) *appsv1.Deployment {
		d = d.DeepCopy()
		d.ResourceVersion = ""
		delete(d.Annotations, ObservedAnnotation)
		delete(d.Spec.Template.Annotations, HashAnnotation)
		if len(d.Spec.Template.Annotations) == 0 {
			d.Spec.Template.Annotations = nil
		}
		return d
	}
	if !reflect.DeepEqual(strip(first), strip(after)) {
		t.Errorf("the restart changed more than the annotations:\nbefore %+v\nafter  %+v", strip(first).Spec, strip(after).Spec)
	}
	select {
	case e := <-rec.Events:
		if !strings.Contains(e, "Reloaded") || !strings.Contains(e, "Secret app (keys used)") {
			t.Errorf("Event %q does not say which Secret and key", e)
		}
		for _, v := range []string{usedV1, usedV2, unusedV2} {
			if strings.Contains(e, v) || strings.Contains(hash, v) || strings.Contains(after.Annotations[ObservedAnnotation], v) {
				t.Errorf("a value shows in the Event or the annotations")
			}
		}
	default:
		t.Error("no Event for the restart")
	}
	step()
	if got := get(); got.Spec.Template.Annotations[HashAnnotation] != hash {
		t.Error("restarted twice for one change")
	}
}

// The hash key is made once and shared: a second controller (a replica, or
// the next run) reads the same one, so it hashes alike and restarts nothing.
func TestKeyMadeOnceAndShared(t *testing.T) {
	ctx := context.Background()
	kube := k8sfake.NewClientset()
	a := &Reconciler{Kube: kube.CoreV1(), KeyNamespace: "keys"}
	b := &Reconciler{Kube: kube.CoreV1(), KeyNamespace: "keys"}
	ka, err := a.key(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.key(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ka) != 32 || string(ka) != string(kb) {
		t.Fatalf("keys differ or are short: %d and %d bytes", len(ka), len(kb))
	}
	s, err := kube.CoreV1().Secrets("keys").Get(ctx, KeySecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data["key"] = []byte("short")
	if _, err := kube.CoreV1().Secrets("keys").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = (&Reconciler{Kube: kube.CoreV1(), KeyNamespace: "keys"}).key(ctx)
	if err == nil || !strings.Contains(err.Error(), "keys/"+KeySecretName) || !strings.Contains(err.Error(), "data.key") {
		t.Errorf("a short key: err = %v, want one naming the Secret and the field", err)
	}
}
