package keys

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Backup returns the key Secrets a controller in namespace would load as a
// v1 List, stripped of server fields so that Restore can create them again
// (here or in another cluster) and an offline unseal can read their keys.
func Backup(ctx context.Context, kube corev1client.CoreV1Interface, namespace, prefix string) (*corev1.List, error) {
	secrets, err := KeySecrets(ctx, kube, namespace, prefix)
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("no key Secrets in namespace %s to back up", namespace)
	}
	list := &corev1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
	for _, sec := range secrets {
		sec.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
		sec.ObjectMeta = metav1.ObjectMeta{Name: sec.Name, Namespace: sec.Namespace, Labels: sec.Labels, Annotations: sec.Annotations}
		b, err := json.Marshal(sec)
		if err != nil {
			return nil, fmt.Errorf("encoding key Secret %s/%s: %w", sec.Namespace, sec.Name, err)
		}
		list.Items = append(list.Items, runtime.RawExtension{Raw: b})
	}
	return list, nil
}

// Restored counts the key Secrets Restore created and those already there.
type Restored struct {
	Created, Kept int
}

// Restore creates each key Secret of a backup in namespace; from names the
// backup in errors. Every Secret is checked to hold a key before any is
// created. A key Secret already there with the same key is kept; one with a
// different key under the same name is an error, never overwritten.
func Restore(ctx context.Context, kube corev1client.CoreV1Interface, namespace, from string, secrets []*corev1.Secret) (Restored, error) {
	var r Restored
	if len(secrets) == 0 {
		return r, fmt.Errorf("backup %s holds no Secret", from)
	}
	for _, sec := range secrets {
		if _, err := ParseKeySecret(sec); err != nil {
			return r, fmt.Errorf("backup %s: %w", from, err)
		}
	}
	for _, sec := range secrets {
		sec = sec.DeepCopy()
		sec.Namespace = namespace
		sec.ResourceVersion, sec.UID = "", ""
		_, err := kube.Secrets(namespace).Create(ctx, sec, metav1.CreateOptions{})
		switch {
		case err == nil:
			r.Created++
		case apierrors.IsAlreadyExists(err):
			live, gerr := kube.Secrets(namespace).Get(ctx, sec.Name, metav1.GetOptions{})
			if gerr != nil {
				return r, fmt.Errorf("key Secret %s/%s: %w", namespace, sec.Name, gerr)
			}
			if string(live.Data[corev1.TLSPrivateKeyKey]) != string(sec.Data[corev1.TLSPrivateKeyKey]) {
				return r, fmt.Errorf("key Secret %s/%s exists with a different key; not overwriting it (restore under another name, or remove it yourself)", namespace, sec.Name)
			}
			r.Kept++
		default:
			return r, fmt.Errorf("creating key Secret %s/%s: %w", namespace, sec.Name, err)
		}
	}
	return r, nil
}
