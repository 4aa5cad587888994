package keys

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
)

func sealedSecretClient(t *testing.T, funcs *interceptor.Funcs, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := ssv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := crfake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...)
	if funcs != nil {
		b = b.WithInterceptorFuncs(*funcs)
	}
	return b.Build()
}

func sealedSecret(name string, fingerprints ...string) *ssv1.SealedSecret {
	ss := &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name}}
	if fingerprints != nil {
		ss.Status = &ssv1.SealedSecretStatus{KeyFingerprints: fingerprints}
	}
	return ss
}

// Keys are listed newest first, the newest current, with how many
// SealedSecrets each opened; SealedSecrets without a record are counted apart.
func TestList(t *testing.T) {
	now := time.Now()
	oldSec, oldPair := keySecret(t, "sealed-secrets-keyold", now.Add(-48*time.Hour), now)
	newSec, newPair := keySecret(t, "sealed-secrets-keynew", now.Add(-time.Hour), now)
	kube := fake.NewClientset(oldSec, newSec).CoreV1()
	oldFP, newFP := Fingerprint(&oldPair.Key.PublicKey), Fingerprint(&newPair.Key.PublicKey)
	c := sealedSecretClient(t, nil, sealedSecret("a", oldFP), sealedSecret("b", oldFP, newFP), sealedSecret("c"))

	infos, unrecorded, err := List(context.Background(), kube, c, DefaultNamespace, DefaultKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Fingerprint != newFP || infos[1].Fingerprint != oldFP {
		t.Fatalf("order: %+v", infos)
	}
	if !infos[0].Current || infos[1].Current || infos[0].Secret != "sealed-secrets-keynew" {
		t.Errorf("current: %+v", infos)
	}
	if *infos[0].SealedSecrets != 1 || *infos[1].SealedSecrets != 2 || unrecorded != 1 {
		t.Errorf("counts %d, %d, unrecorded %d; want 1, 2, 1", *infos[0].SealedSecrets, *infos[1].SealedSecrets, unrecorded)
	}
}

// Without permission to list SealedSecrets the keys are still listed,
// counts unknown; any other failure is an error.
func TestListSealedSecretsUnreadable(t *testing.T) {
	sec, _ := keySecret(t, "sealed-secrets-keyabc", time.Now(), time.Now())
	kube := fake.NewClientset(sec).CoreV1()
	failWith := func(err error) *interceptor.Funcs {
		return &interceptor.Funcs{List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error { return err }}
	}

	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "bitnami.com", Resource: "sealedsecrets"}, "", errors.New("no"))
	infos, _, err := List(context.Background(), kube, sealedSecretClient(t, failWith(forbidden)), DefaultNamespace, DefaultKeyPrefix)
	if err != nil || len(infos) != 1 || infos[0].SealedSecrets != nil {
		t.Fatalf("forbidden: %+v, %v", infos, err)
	}

	if _, _, err := List(context.Background(), kube, sealedSecretClient(t, failWith(errors.New("boom"))), DefaultNamespace, DefaultKeyPrefix); err == nil {
		t.Error("failure to list SealedSecrets hidden")
	}
}
