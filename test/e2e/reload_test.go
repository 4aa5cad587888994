package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/internal/manager"
)

// TestReloadUsedKeysOnly: a change of a Secret key restarts exactly the
// opted-in workloads that use that key, however they read it (env,
// envFrom, volumes with or without items, projected), through each
// annotation Reloader documents and Keyward's own; the restart is a new
// pod-template hash and an Event, and no value shows anywhere.
func TestReloadUsedKeysOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ns, keyNS := newNamespace(ctx, t), newNamespace(ctx, t)
	const (
		usedV1, usedV2     = "used-value-Qm9vT1", "used-value-Zx81Ua"
		unusedV1, unusedV2 = "unused-value-Lp02", "unused-value-Rr77"
		matchedV1          = "matched-value-Ty55"
		matchedV2          = "matched-value-Wq31"
	)
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, StringData: map[string]string{"used": usedV1, "unused": unusedV1}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "matched", Annotations: map[string]string{reload.ReloaderMatch: "true"}},
			StringData: map[string]string{"k": matchedV1}},
	} {
		if err := cluster.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	auto := map[string]string{reload.ReloaderAuto: "true"}
	var (
		envUsed     = deployment(ns, "env-used", auto, podSpec(envKey("app", "used"), nil))
		envUnused   = deployment(ns, "env-unused", auto, podSpec(envKey("app", "unused"), nil))
		whole       = deployment(ns, "envfrom", map[string]string{reload.ReloaderSecretAuto: "true"}, podSpec(nil, envFrom("app")))
		volItems    = deployment(ns, "volume-items", map[string]string{reload.SecretsAnnotation: "app"}, podSpec(nil, nil, secretVolume("app", "used")))
		volUnused   = deployment(ns, "volume-items-unused", map[string]string{reload.AutoAnnotation: "true"}, podSpec(nil, nil, secretVolume("app", "unused")))
		projected   = deployment(ns, "projected", map[string]string{reload.ReloaderSecretReload: "app"}, podSpec(nil, nil, projectedVolume("app", "used")))
		search      = deployment(ns, "search", map[string]string{reload.ReloaderSearch: "true"}, podSpec(envKey("app", "used"), envFrom("matched")))
		optedOut    = deployment(ns, "opted-out", map[string]string{reload.ReloaderAuto: "false", reload.ReloaderSecretReload: "app"}, podSpec(envKey("app", "used"), nil))
		unrelated   = deployment(ns, "unrelated", nil, podSpec(envKey("app", "used"), envFrom("app")))
		otherSecret = deployment(ns, "other-secret", auto, podSpec(nil, envFrom("matched")))
		sts         = statefulSet(ns, "sts", auto, podSpec(envKey("app", "used"), nil))
		ds          = daemonSet(ns, "ds", auto, podSpec(nil, nil, secretVolume("app")))
	)
	all := []client.Object{envUsed, envUnused, whole, volItems, volUnused, projected, search, optedOut, unrelated, otherSecret, sts, ds}
	for _, o := range all {
		if err := cluster.Client.Create(ctx, o); err != nil {
			t.Fatalf("creating %s: %v", o.GetName(), err)
		}
	}
	ctl := startReload(ctx, t, keyNS, []string{ns}, manager.ReloadOptions{})

	// First sight records, restarts nothing.
	optedIn := []client.Object{envUsed, envUnused, whole, volItems, volUnused, projected, search, otherSecret, sts, ds}
	before := waitRecorded(ctx, t, optedIn...)
	snapshot := func(ctx context.Context, t *testing.T, in []client.Object, out ...client.Object) map[client.Object]reloadState {
		m := waitRecorded(ctx, t, in...)
		for _, o := range out {
			m[o] = stateOf(ctx, t, o)
		}
		return m
	}
	for _, o := range optedIn {
		if before[o].Hash != "" {
			t.Errorf("%s was restarted when first seen", o.GetName())
		}
	}
	for _, o := range []client.Object{optedOut, unrelated} {
		before[o] = stateOf(ctx, t, o)
		if before[o].Observed != "" {
			t.Errorf("%s, not opted in, was annotated", o.GetName())
		}
	}

	t.Run("unused key", func(t *testing.T) {
		setSecretKey(ctx, t, ns, "app", "unused", unusedV2)
		waitRestarted(ctx, t, before, envUnused, volUnused, whole, ds)
		settle()
		assertUntouched(ctx, t, before, envUsed, volItems, projected, search, optedOut, unrelated, otherSecret, sts)
	})
	before = snapshot(ctx, t, optedIn, optedOut, unrelated)

	t.Run("used key", func(t *testing.T) {
		setSecretKey(ctx, t, ns, "app", "used", usedV2)
		waitRestarted(ctx, t, before, envUsed, volItems, projected, whole, sts, ds)
		settle()
		// search reads app, but app does not carry reloader.stakater.com/match.
		assertUntouched(ctx, t, before, envUnused, volUnused, search, optedOut, unrelated, otherSecret)
		note := waitReloadEvent(ctx, t, ns, "env-used")
		if !strings.Contains(note, "Secret app (keys used)") {
			t.Errorf("the Reloaded Event does not name the Secret and key: %q", note)
		}
		if n := reloadEvents(ctx, t, ns, "env-unused"); len(n) != 1 {
			t.Errorf("env-unused has %d Reloaded Events, want 1 (for the unused key's change): %q", len(n), n)
		}
	})
	before = snapshot(ctx, t, optedIn, optedOut, unrelated)

	t.Run("search and match", func(t *testing.T) {
		setSecretKey(ctx, t, ns, "matched", "k", matchedV2)
		waitRestarted(ctx, t, before, search, otherSecret)
		settle()
		assertUntouched(ctx, t, before, envUsed, envUnused, whole, volItems, volUnused, projected, optedOut, unrelated, sts, ds)
	})
	before = snapshot(ctx, t, optedIn, optedOut, unrelated)

	t.Run("same value again", func(t *testing.T) {
		// A write that leaves the values as they are (a resync by the
		// owner, a relabel) restarts nothing.
		s := &corev1.Secret{}
		if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, s); err != nil {
			t.Fatal(err)
		}
		s.Labels = map[string]string{"touched": "yes"}
		if err := cluster.Client.Update(ctx, s); err != nil {
			t.Fatal(err)
		}
		settle()
		assertUntouched(ctx, t, before, all...)
	})

	t.Run("pod template change is not a restart", func(t *testing.T) {
		// The user points env-used at another key: that rolls the Pods
		// already; the controller records the new keys and adds nothing.
		d := envUsed.DeepCopy()
		d.Spec.Template.Spec.Containers[0].Env = envKey("app", "unused")
		if err := cluster.Client.Update(ctx, d); err != nil {
			t.Fatal(err)
		}
		eventually(ctx, t, "the new keys recorded", func(ctx context.Context) (bool, error) {
			now := stateOf(ctx, t, envUsed)
			return now.Observed != before[envUsed].Observed, nil
		})
		if now := stateOf(ctx, t, envUsed); now.Hash != before[envUsed].Hash {
			t.Errorf("a pod-template change by the user made the controller restart too")
		}
	})

	t.Run("controller restart restarts nothing", func(t *testing.T) {
		before = snapshot(ctx, t, optedIn, optedOut, unrelated)
		ctl.stop()
		ctl = startReload(ctx, t, keyNS, []string{ns}, manager.ReloadOptions{})
		settle()
		settle()
		assertUntouched(ctx, t, before, all...)
		// And it still acts.
		setSecretKey(ctx, t, ns, "app", "used", usedV1)
		waitRestarted(ctx, t, before, volItems)
	})

	t.Run("change while the controller is down", func(t *testing.T) {
		before = snapshot(ctx, t, optedIn, optedOut, unrelated)
		ctl.stop()
		setSecretKey(ctx, t, ns, "app", "used", usedV2)
		ctl = startReload(ctx, t, keyNS, []string{ns}, manager.ReloadOptions{})
		// What was recorded tells the missed change from a first sight.
		waitRestarted(ctx, t, before, volItems, projected, sts)
		settle()
		assertUntouched(ctx, t, before, envUnused, volUnused, search, optedOut, unrelated, otherSecret)
	})

	metrics := metricsText(t, ctl.metrics)
	if !strings.Contains(metrics, `keyward_reload_restarts_total{kind="Deployment"}`) {
		t.Errorf("no restart counted in the metrics:\n%s", metrics)
	}
	assertNoValues(ctx, t, ns, []string{usedV1, usedV2, unusedV1, unusedV2, matchedV1, matchedV2}, metrics)
}
