package keys

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
)

// Info describes one sealing key and what still needs it.
type Info struct {
	Fingerprint string    `json:"fingerprint"`
	Secret      string    `json:"secret"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	Current     bool      `json:"current"`
	// SealedSecrets counts those whose status says this key opened them;
	// nil when SealedSecrets could not be listed.
	SealedSecrets *int `json:"sealedSecrets,omitempty"`
}

// List reads the key Secrets a controller in namespace would load, newest
// first as the controller orders them (the first is current), and counts
// from SealedSecret status which key opened what. unrecorded counts the
// SealedSecrets without that record. Not being allowed to list
// SealedSecrets leaves the counts nil rather than failing.
func List(ctx context.Context, kube corev1client.CoreV1Interface, c client.Reader, namespace, prefix string) (infos []Info, unrecorded int, err error) {
	secrets, err := KeySecrets(ctx, kube, namespace, prefix)
	if err != nil {
		return nil, 0, err
	}
	for i := range secrets {
		ks, err := ParseKeySecret(&secrets[i])
		if err != nil {
			return nil, 0, err
		}
		for _, k := range ks {
			infos = append(infos, Info{Fingerprint: k.Fingerprint, Secret: k.SecretName, NotBefore: k.Cert.NotBefore, NotAfter: k.Cert.NotAfter})
		}
	}
	slices.SortStableFunc(infos, func(a, b Info) int { return b.NotBefore.Compare(a.NotBefore) })
	if len(infos) > 0 {
		infos[0].Current = true
	}
	var list ssv1.SealedSecretList
	if err := c.List(ctx, &list); err != nil {
		if apierrors.IsForbidden(err) {
			return infos, 0, nil
		}
		return nil, 0, fmt.Errorf("listing SealedSecrets: %w", err)
	}
	counts := map[string]int{}
	for _, ss := range list.Items {
		if ss.Status == nil || len(ss.Status.KeyFingerprints) == 0 {
			unrecorded++
			continue
		}
		for _, fp := range ss.Status.KeyFingerprints {
			counts[fp]++
		}
	}
	for i := range infos {
		n := counts[infos[i].Fingerprint]
		infos[i].SealedSecrets = &n
	}
	return infos, unrecorded, nil
}
