package tosealed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/migrate"
	"github.com/keyward/keyward/internal/sealing"
)

// SealedSecrets is the resource the step applies.
var SealedSecrets = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}

// cluster adopts and applies, Secret by Secret. The Secret is never
// deleted: the managed annotation lets the controller update it in place,
// with the same data, and a failure leaves it as it was.
func (o Options) cluster(ctx context.Context, rep *migrate.Report, items []*item) error {
	if o.Apply && !o.Adopt {
		return errors.New("--apply without --adopt: the controller would refuse to take over the existing Secrets")
	}
	wait := o.Wait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	// Secrets are taken over independently, a few at a time: each waits
	// for the controller, which works on several at once.
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, clusterWorkers)
	)
	for _, it := range items {
		if it.prepared == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(it *item) {
			defer func() { <-sem; wg.Done() }()
			var part migrate.Report
			err := o.takeOver(ctx, &part, it, wait)
			mu.Lock()
			defer mu.Unlock()
			rep.Actions = append(rep.Actions, part.Actions...)
			if err != nil && first == nil {
				first = err
			}
		}(it)
	}
	wg.Wait()
	sortActions(rep)
	return first
}

// clusterWorkers is how many Secrets are taken over at once.
const clusterWorkers = 8

// takeOver adopts one Secret and applies its SealedSecret.
func (o Options) takeOver(ctx context.Context, rep *migrate.Report, it *item, wait time.Duration) error {
	ns, name := it.prepared.Namespace, it.prepared.Name
	if o.Adopt {
		if err := o.adopt(ctx, rep, it, wait); err != nil {
			return fmt.Errorf("Secret %s/%s: %w", ns, name, err)
		}
	}
	if o.Apply {
		if err := o.apply(ctx, rep, it, wait); err != nil {
			return fmt.Errorf("SealedSecret %s/%s: %w", ns, name, err)
		}
	}
	return nil
}

// sortActions orders the report by Secret, keeping each Secret's actions
// in the order they were taken.
func sortActions(rep *migrate.Report) {
	sort.SliceStable(rep.Actions, func(i, j int) bool { return rep.Actions[i].Secret < rep.Actions[j].Secret })
}

// adopt marks the Secret managed, so the controller updates it in place.
func (o Options) adopt(ctx context.Context, rep *migrate.Report, it *item, wait time.Duration) error {
	ns, name := it.prepared.Namespace, it.prepared.Name
	a := migrate.Action{Secret: ns + "/" + name, Op: migrate.Adopt, Target: "Secret " + ns + "/" + name,
		Note: "marked " + ssv1.ManagedAnnotation + " so the controller takes it over in place"}
	var cur *corev1.Secret
	err := retry(ctx, wait, func() error {
		var err error
		cur, err = o.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil // nothing to take over: the controller creates it
	}
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	if cur.Annotations[ssv1.ManagedAnnotation] == "true" || isControlledBySealedSecret(cur) {
		return nil
	}
	if !o.DryRun {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": cur.ResourceVersion,
			"annotations":     map[string]string{ssv1.ManagedAnnotation: "true"},
		}})
		err := retry(ctx, wait, func() error {
			_, err := o.Kube.CoreV1().Secrets(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("marking it managed: %w", err)
		}
		o.progress("adopted Secret %s/%s", ns, name)
	}
	rep.Add(a)
	return nil
}

func isControlledBySealedSecret(s *corev1.Secret) bool {
	for _, r := range s.OwnerReferences {
		if r.Controller != nil && *r.Controller && r.Kind == ssv1.Kind {
			return true
		}
	}
	return false
}

// apply creates or updates the SealedSecret from its file, then waits
// until the controller synced it and the Secret holds the original bytes.
func (o Options) apply(ctx context.Context, rep *migrate.Report, it *item, wait time.Duration) error {
	ns, name := it.prepared.Namespace, it.prepared.Name
	a := migrate.Action{Secret: ns + "/" + name, Op: migrate.Apply, Target: "SealedSecret " + ns + "/" + name}
	var want *ssv1.SealedSecret
	if b, err := os.ReadFile(it.target); err == nil {
		if want, err = sealing.ParseSealedSecret(b); err != nil {
			return fmt.Errorf("re-reading %s: %w", it.target, err)
		}
	} else if !o.DryRun {
		return fmt.Errorf("re-reading %s: %w", it.target, err)
	}
	client := o.Dynamic.Resource(SealedSecrets).Namespace(ns)
	var cur *unstructured.Unstructured
	err := retry(ctx, wait, func() error {
		var err error
		cur, err = client.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cur = nil
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	same := false
	if cur != nil && want != nil {
		var have ssv1.SealedSecret
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(cur.Object, &have); err == nil {
			same = have.Annotations[SourceHashAnnotation] == want.Annotations[SourceHashAnnotation] &&
				maps.Equal(have.Spec.EncryptedData, want.Spec.EncryptedData)
		}
	}
	if same {
		a.Op = migrate.Unchanged
		a.Note = "SealedSecret applied already"
	}
	if o.DryRun {
		rep.Add(a)
		return nil
	}
	if !same {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(want)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: obj}
		err = retry(ctx, wait, func() error {
			if cur == nil {
				_, err := client.Create(ctx, u, metav1.CreateOptions{})
				if apierrors.IsAlreadyExists(err) {
					// Created by a request whose answer was lost: read it.
					c, gerr := client.Get(ctx, name, metav1.GetOptions{})
					if gerr != nil {
						return gerr
					}
					cur = c
					return errRetry
				}
				return err
			}
			u.SetResourceVersion(cur.GetResourceVersion())
			_, err := client.Update(ctx, u, metav1.UpdateOptions{})
			if apierrors.IsConflict(err) {
				c, gerr := client.Get(ctx, name, metav1.GetOptions{})
				if gerr != nil {
					return gerr
				}
				cur = c
				return errRetry
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("applying: %w", err)
		}
		o.progress("applied SealedSecret %s/%s", ns, name)
	}
	rep.Add(a)
	return o.waitSynced(ctx, it, wait)
}

// waitSynced waits until the SealedSecret's Synced condition is True for
// its generation and its Secret, controlled by it, holds want's bytes.
func (o Options) waitSynced(ctx context.Context, it *item, wait time.Duration) error {
	ns, name := it.prepared.Namespace, it.prepared.Name
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last string
	for {
		last = o.synced(ctx, ns, name, it.want)
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not synced after %s: %s", wait, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// synced returns "" when done, else what is still missing (no value).
func (o Options) synced(ctx context.Context, ns, name string, want map[string][]byte) string {
	u, err := o.Dynamic.Resource(SealedSecrets).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "reading the SealedSecret: " + err.Error()
	}
	var ss ssv1.SealedSecret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ss); err != nil {
		return "reading the SealedSecret: " + err.Error()
	}
	if ss.Status == nil || ss.Status.ObservedGeneration < ss.Generation {
		return "the controller has not acted on it yet"
	}
	ok := false
	for _, c := range ss.Status.Conditions {
		if c.Type == ssv1.SealedSecretSynced {
			if c.Status != corev1.ConditionTrue {
				return "Synced is " + string(c.Status) + ": " + c.Message
			}
			ok = true
		}
	}
	if !ok {
		return "no Synced condition yet"
	}
	sec, err := o.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "reading the Secret: " + err.Error()
	}
	if !metav1.IsControlledBy(sec, u) {
		return "the Secret is not controlled by the SealedSecret yet"
	}
	if len(sec.Data) != len(want) {
		return "the Secret's keys differ from the original's"
	}
	for k, v := range want {
		if !bytes.Equal(sec.Data[k], v) {
			return fmt.Sprintf("the Secret's item %q differs from the original", k)
		}
	}
	return ""
}

// errRetry asks retry for another round at once.
var errRetry = errors.New("retry")

// retry runs fn until it succeeds, fails for good, or wait passes. What
// an API server restart causes (refused connections, timeouts, 5xx) is
// tried again; other answers are final.
func retry(ctx context.Context, wait time.Duration, fn func() error) error {
	deadline := time.Now().Add(wait)
	delay := 200 * time.Millisecond
	for {
		err := fn()
		if err == nil || !transient(err) || time.Now().After(deadline) {
			if errors.Is(err, errRetry) {
				return errors.New("the object kept changing")
			}
			return err
		}
		if errors.Is(err, errRetry) {
			continue
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
	}
}

func transient(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, errRetry):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err), apierrors.IsUnexpectedServerError(err):
		return true
	case errors.As(err, &ne):
		return true
	case apierrors.ReasonForError(err) == metav1.StatusReasonUnknown && !isAPIStatus(err):
		return true // connection reset, EOF mid-answer
	}
	return false
}

func isAPIStatus(err error) bool {
	var s apierrors.APIStatus
	return errors.As(err, &s)
}
