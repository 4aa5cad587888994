// Package promote compares the secrets one environment needs with what
// another has, and copies the set (names and keys, values only when asked)
// across. Values are compared by keyed hash (HMAC-SHA256 with the key
// `keyward audit reuse` keeps), so a value found in both environments is
// reported without the value, or a plain hash of it, leaving the process.
package promote

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/keyward/keyward/internal/atomicfile"
	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/internal/migrate"
	"github.com/keyward/keyward/internal/migrate/source"
)

// Cluster reaches the API server with the user's own rights.
type Cluster struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// Manifest renders what --out writes for a needed Secret in the target
// namespace (an ExternalSecret when a store is given); nil writes a Secret
// skeleton with the keys and empty values.
type Manifest func(ns, name string, keys []string, typ corev1.SecretType) ([]byte, error)

// Options say what to compare and what to do.
type Options struct {
	From, To string
	// HMACKey keys the hashes values are compared by.
	HMACKey []byte
	// Values copies missing keys' values into the target namespace.
	Values bool
	// OutDir receives the target's manifests ("" = none).
	OutDir   string
	Manifest Manifest
	DryRun   bool
}

// Need is one Secret an environment needs and the keys known to be used.
type Need struct {
	Name string
	// Keys in the source Secret (or, when it is not there, the keys
	// workloads and ExternalSecrets name).
	Keys []string
	// By says why the Secret is needed (Deployment/name, ExternalSecret/name, ...).
	By []string
}

var (
	esGVRs = []schema.GroupVersionResource{
		{Group: "external-secrets.io", Version: "v1", Resource: "externalsecrets"},
		{Group: "external-secrets.io", Version: "v1beta1", Resource: "externalsecrets"},
	}
	sealedGVR = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}
)

// Needed lists the Secrets namespace ns needs: those its workloads use and
// those its ExternalSecrets and SealedSecrets make, leaving out Secrets
// source.Skipped names (tokens, Helm records, sealing keys).
func Needed(ctx context.Context, c Cluster, ns string) ([]Need, map[string]*corev1.Secret, error) {
	needs := map[string]*Need{}
	keys := map[string]map[string]bool{}
	add := func(name, by string, ks ...string) {
		n := needs[name]
		if n == nil {
			n = &Need{Name: name}
			needs[name] = n
			keys[name] = map[string]bool{}
		}
		if !slices.Contains(n.By, by) {
			n.By = append(n.By, by)
		}
		for _, k := range ks {
			keys[name][k] = true
		}
	}
	pod := func(kind, name string, spec *corev1.PodSpec) {
		for secret, u := range reload.SecretUses(spec) {
			add(secret, kind+"/"+name, u.SortedKeys()...)
		}
	}
	apps := c.Kube.AppsV1()
	deps, err := apps.Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing Deployments in %s: %w", ns, err)
	}
	for i := range deps.Items {
		pod("Deployment", deps.Items[i].Name, &deps.Items[i].Spec.Template.Spec)
	}
	sts, err := apps.StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing StatefulSets in %s: %w", ns, err)
	}
	for i := range sts.Items {
		pod("StatefulSet", sts.Items[i].Name, &sts.Items[i].Spec.Template.Spec)
	}
	dss, err := apps.DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing DaemonSets in %s: %w", ns, err)
	}
	for i := range dss.Items {
		pod("DaemonSet", dss.Items[i].Name, &dss.Items[i].Spec.Template.Spec)
	}
	cjs, err := c.Kube.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing CronJobs in %s: %w", ns, err)
	}
	for i := range cjs.Items {
		pod("CronJob", cjs.Items[i].Name, &cjs.Items[i].Spec.JobTemplate.Spec.Template.Spec)
	}
	ess, err := listFirstServed(ctx, c.Dynamic, esGVRs, ns)
	if err != nil {
		return nil, nil, err
	}
	for _, es := range ess {
		target, _, _ := unstructured.NestedString(es.Object, "spec", "target", "name")
		if target == "" {
			target = es.GetName()
		}
		var ks []string
		data, _, _ := unstructured.NestedSlice(es.Object, "spec", "data")
		for _, d := range data {
			if m, ok := d.(map[string]any); ok {
				if k, ok := m["secretKey"].(string); ok {
					ks = append(ks, k)
				}
			}
		}
		add(target, "ExternalSecret/"+es.GetName(), ks...)
	}
	sss, err := listFirstServed(ctx, c.Dynamic, []schema.GroupVersionResource{sealedGVR}, ns)
	if err != nil {
		return nil, nil, err
	}
	for _, ss := range sss {
		enc, _, _ := unstructured.NestedMap(ss.Object, "spec", "encryptedData")
		add(ss.GetName(), "SealedSecret/"+ss.GetName(), slices.Collect(maps.Keys(enc))...)
	}

	have, err := source.ByName(ctx, c.Kube, ns)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Need, 0, len(needs))
	for name, n := range needs {
		if s := have[name]; s != nil {
			if source.Skipped(s) != "" {
				continue
			}
			for k := range s.Data {
				keys[name][k] = true
			}
		}
		n.Keys = slices.Sorted(maps.Keys(keys[name]))
		sort.Strings(n.By)
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, have, nil
}

// listFirstServed lists a kind in the first of its versions the API server
// serves; none served is an empty list (the CRDs are not installed).
func listFirstServed(ctx context.Context, dyn dynamic.Interface, gvrs []schema.GroupVersionResource, ns string) ([]unstructured.Unstructured, error) {
	for _, gvr := range gvrs {
		l, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", gvr.GroupResource(), ns, err)
		}
		return l.Items, nil
	}
	return nil, nil
}

// Result is the report and how many values were found in both.
type Result struct {
	Report *migrate.Report
	Same   int
}

// Run compares From's needed Secrets with To's, and copies or writes
// manifests as asked.
func Run(ctx context.Context, c Cluster, o Options) (*Result, error) {
	if o.From == "" || o.To == "" || o.From == o.To {
		return nil, errors.New("--from and --to must name two different namespaces")
	}
	if len(o.HMACKey) == 0 {
		return nil, errors.New("no HMAC key to compare values with")
	}
	needs, from, err := Needed(ctx, c, o.From)
	if err != nil {
		return nil, err
	}
	to, err := source.ByName(ctx, c.Kube, o.To)
	if err != nil {
		return nil, err
	}
	res := &Result{Report: &migrate.Report{Step: "promote", DryRun: o.DryRun}}
	rep := res.Report
	var failed []string
	for _, n := range needs {
		key := o.To + "/" + n.Name
		src, dst := from[n.Name], to[n.Name]
		used := "needed by " + strings.Join(n.By, ", ")
		var missing, same []string
		var hashes []string
		for _, k := range n.Keys {
			var dv []byte
			ok := false
			if dst != nil {
				dv, ok = dst.Data[k]
			}
			switch {
			case !ok:
				missing = append(missing, k)
			case src != nil && src.Data[k] != nil && len(dv) > 0:
				hs, hd := mac(o.HMACKey, src.Data[k]), mac(o.HMACKey, dv)
				if hmac.Equal(hs, hd) {
					same = append(same, k)
					hashes = append(hashes, k+"=hmac-sha256:"+hex.EncodeToString(hs[:8]))
				}
			}
		}
		if len(same) > 0 {
			res.Same += len(same)
			rep.Add(migrate.Action{Secret: key, Op: migrate.Same, Target: "Secret/" + o.From + "/" + n.Name, Keys: same,
				Note: "keyed hashes " + strings.Join(hashes, " ")})
		}
		if len(missing) > 0 {
			what := "keys missing in " + o.To
			if dst == nil {
				what = "Secret missing in " + o.To
			}
			rep.Add(migrate.Action{Secret: key, Op: migrate.Missing, Keys: missing, Differs: what, Note: used})
		}
		if len(missing) == 0 && len(same) == 0 {
			rep.Add(migrate.Action{Secret: key, Op: migrate.Unchanged, Keys: n.Keys, Note: "every key present, every value different"})
		}
		if o.Values && len(missing) > 0 {
			a, err := copyValues(ctx, c, o, n, src, dst, missing)
			if err != nil {
				failed = append(failed, err.Error())
			}
			if a != nil {
				a.Secret = key
				rep.Add(*a)
			}
		}
		if !o.Values && o.OutDir != "" {
			a, err := writeManifest(o, n, src)
			if err != nil {
				failed = append(failed, err.Error())
			} else {
				a.Secret = key
				rep.Add(*a)
			}
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("promote: %s", strings.Join(failed, "; "))
	}
	return res, nil
}

func mac(key, value []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(value)
	return h.Sum(nil)
}

// copyValues puts the missing keys' values into the target: a new Secret
// (same type), or the keys added to an existing one, never overwriting a
// key it has nor touching a Secret a controller writes.
func copyValues(ctx context.Context, c Cluster, o Options, n Need, src, dst *corev1.Secret, missing []string) (*migrate.Action, error) {
	key := o.To + "/" + n.Name
	if src == nil {
		return &migrate.Action{Op: migrate.Skipped, Keys: missing, Note: "no Secret in " + o.From + " to copy from"}, nil
	}
	var copyKeys, absent []string
	for _, k := range missing {
		if _, ok := src.Data[k]; ok {
			copyKeys = append(copyKeys, k)
		} else {
			absent = append(absent, k)
		}
	}
	if len(copyKeys) == 0 {
		return &migrate.Action{Op: migrate.Skipped, Keys: absent, Note: "not in " + o.From + " either"}, nil
	}
	a := &migrate.Action{Op: migrate.Copy, Target: "Secret/" + key, Keys: copyKeys}
	if len(absent) > 0 {
		a.Note = "not in " + o.From + " either: " + strings.Join(absent, ",")
	}
	if dst != nil {
		if ctl := metav1.GetControllerOf(dst); ctl != nil {
			return &migrate.Action{Op: migrate.Skipped, Keys: copyKeys, Note: fmt.Sprintf("Secret %s is written by %s %s: add the keys there", key, ctl.Kind, ctl.Name)}, nil
		}
	}
	if o.DryRun {
		return a, nil
	}
	secrets := c.Kube.CoreV1().Secrets(o.To)
	if dst == nil {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: o.To, Name: n.Name}, Type: src.Type, Data: map[string][]byte{}}
		for _, k := range copyKeys {
			s.Data[k] = src.Data[k]
		}
		if _, err := secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: "keyward-migrate"}); err != nil {
			return nil, fmt.Errorf("creating Secret %s: %w", key, err)
		}
		return a, nil
	}
	upd := dst.DeepCopy()
	if upd.Data == nil {
		upd.Data = map[string][]byte{}
	}
	for _, k := range copyKeys {
		upd.Data[k] = src.Data[k]
	}
	// resourceVersion guards against a change made since the read.
	if _, err := secrets.Update(ctx, upd, metav1.UpdateOptions{FieldManager: "keyward-migrate"}); err != nil {
		return nil, fmt.Errorf("adding keys %s to Secret %s: %w", strings.Join(copyKeys, ","), key, err)
	}
	return a, nil
}

// writeManifest writes the target's manifest for n unless the file holds it.
func writeManifest(o Options, n Need, src *corev1.Secret) (*migrate.Action, error) {
	typ := corev1.SecretTypeOpaque
	if src != nil && src.Type != "" {
		typ = src.Type
	}
	var b []byte
	var err error
	suffix := ".secret.yaml"
	if o.Manifest != nil {
		suffix = ".externalsecret.yaml"
		b, err = o.Manifest(o.To, n.Name, n.Keys, typ)
	} else {
		b, err = skeleton(o.To, n.Name, n.Keys, typ)
	}
	if err != nil {
		return nil, fmt.Errorf("Secret %s/%s: %w", o.To, n.Name, err)
	}
	path := filepath.Join(o.OutDir, n.Name+suffix)
	a := &migrate.Action{Op: migrate.WriteManifest, Target: path, Keys: n.Keys}
	cur, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(cur, b):
		a.Op = migrate.Unchanged
		return a, nil
	case err == nil:
		a.Differs = "file exists with other content"
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if !o.DryRun {
		if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(path, b, 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return a, nil
}

// skeleton is a Secret manifest naming the keys, every value empty: the
// set of secrets to fill in for the target environment.
func skeleton(ns, name string, keys []string, typ corev1.SecretType) ([]byte, error) {
	data := map[string]string{}
	for _, k := range keys {
		data[k] = ""
	}
	return yaml.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": string(typ),
		"metadata":   map[string]any{"namespace": ns, "name": name},
		"stringData": data,
	})
}
