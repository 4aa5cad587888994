package reload

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func keyRef(secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

// flat turns uses into "secret" -> "*" or the sorted keys, for comparing.
func flat(uses map[string]*Use) map[string][]string {
	out := map[string][]string{}
	for n, u := range uses {
		if u.All {
			out[n] = []string{"*"}
		} else {
			out[n] = u.SortedKeys()
		}
	}
	return out
}

func TestSecretUses(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want map[string][]string
	}{
		{"none", corev1.PodSpec{Containers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}}, map[string][]string{}},
		{"env secretKeyRef", corev1.PodSpec{Containers: []corev1.Container{{Env: []corev1.EnvVar{keyRef("db", "password"), keyRef("db", "user")}}}},
			map[string][]string{"db": {"password", "user"}}},
		{"configMap ref is not a Secret", corev1.PodSpec{Containers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
			ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"}}}}}}},
			map[string][]string{}},
		{"envFrom reads all", corev1.PodSpec{Containers: []corev1.Container{{
			Env:     []corev1.EnvVar{keyRef("db", "password")},
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}}}}},
			map[string][]string{"db": {"*"}}},
		{"init and ephemeral containers", corev1.PodSpec{
			InitContainers:      []corev1.Container{{Env: []corev1.EnvVar{keyRef("init", "a")}}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Env: []corev1.EnvVar{keyRef("eph", "b")}}}}},
			map[string][]string{"init": {"a"}, "eph": {"b"}}},
		{"volume without items", corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tls"}}}}},
			map[string][]string{"tls": {"*"}}},
		{"volume with items", corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: "tls", Items: []corev1.KeyToPath{{Key: "tls.crt", Path: "c"}, {Key: "tls.key", Path: "k"}}}}}}},
			map[string][]string{"tls": {"tls.crt", "tls.key"}}},
		{"projected", corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "a"}, Items: []corev1.KeyToPath{{Key: "k1", Path: "p"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "b"}}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
		}}}}}},
			map[string][]string{"a": {"k1"}, "b": {"*"}}},
		{"image pull secrets are not reads", corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "reg"}}}, map[string][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := flat(SecretUses(&tc.spec)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	uses := map[string]*Use{"a": {Keys: map[string]bool{"k": true}}, "b": {All: true}, "ignored": {All: true}}
	meta := func(name string) (SecretMeta, bool) {
		switch name {
		case "a":
			return SecretMeta{Match: true}, true
		case "b":
			return SecretMeta{}, true
		case "ignored":
			return SecretMeta{Match: true, Ignore: true}, true
		}
		return SecretMeta{}, false
	}
	for _, tc := range []struct {
		name string
		ann  map[string]string
		want map[string][]string
	}{
		{"no annotations", nil, map[string][]string{}},
		{"reloader auto", map[string]string{ReloaderAuto: "true"}, map[string][]string{"a": {"k"}, "b": {"*"}}},
		{"reloader secret auto", map[string]string{ReloaderSecretAuto: "true"}, map[string][]string{"a": {"k"}, "b": {"*"}}},
		{"keyward auto", map[string]string{AutoAnnotation: "true"}, map[string][]string{"a": {"k"}, "b": {"*"}}},
		{"reloader list, unused name reads all", map[string]string{ReloaderSecretReload: "b, other"}, map[string][]string{"b": {"*"}, "other": {"*"}}},
		{"keyward list", map[string]string{SecretsAnnotation: "a"}, map[string][]string{"a": {"k"}}},
		{"search takes matched", map[string]string{ReloaderSearch: "true"}, map[string][]string{"a": {"k"}}},
		{"auto wins over search", map[string]string{ReloaderSearch: "true", ReloaderAuto: "true"}, map[string][]string{"a": {"k"}, "b": {"*"}}},
		{"auto false opts out of Reloader's", map[string]string{ReloaderAuto: "false", ReloaderSecretReload: "a", ReloaderSearch: "true"}, map[string][]string{}},
		{"auto false leaves Keyward's", map[string]string{ReloaderAuto: "false", SecretsAnnotation: "b"}, map[string][]string{"b": {"*"}}},
		{"ignored Secret even when named", map[string]string{SecretsAnnotation: "ignored"}, map[string][]string{}},
		{"not true is off", map[string]string{ReloaderAuto: "yes"}, map[string][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel := ParseSelection(tc.ann)
			if got := flat(Select(sel, uses, meta)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			// Every selected Secret is indexed, so its changes reach the workload.
			idx := map[string]bool{}
			for _, n := range Referenced(sel, uses) {
				idx[n] = true
			}
			for n := range tc.want {
				if !idx[n] {
					t.Errorf("%s is selected but not indexed", n)
				}
			}
		})
	}
}

func TestHashes(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	data := map[string][]byte{"used": []byte("s3cr3t-one"), "other": []byte("s3cr3t-two")}
	d := func(m map[string][]byte) map[string]digest { return map[string]digest{"s": newDigest(key, "1", m)} }
	one := map[string]*Use{"s": {Keys: map[string]bool{"used": true}}}
	all := map[string]*Use{"s": {All: true}}
	set, base, _ := hashes(key, one, d(data))
	for _, tc := range []struct {
		name             string
		uses             map[string]*Use
		digests          map[string]digest
		sameSet, sameVal bool
	}{
		{"same", one, d(data), true, true},
		{"unused key changed", one, d(map[string][]byte{"used": data["used"], "other": []byte("new")}), true, true},
		{"used key changed", one, d(map[string][]byte{"used": []byte("new"), "other": data["other"]}), true, false},
		{"used key removed", one, d(map[string][]byte{"other": data["other"]}), true, false},
		{"Secret gone", one, map[string]digest{}, true, false},
		{"uses changed", all, d(data), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, v, _ := hashes(key, tc.uses, tc.digests)
			if (s == set) != tc.sameSet || (v == base) != tc.sameVal {
				t.Errorf("set same %v (want %v), values same %v (want %v)", s == set, tc.sameSet, v == base, tc.sameVal)
			}
		})
	}
	// Keyed: another key hashes the same values differently.
	if _, other, _ := hashes([]byte("another key, 32 bytes long......"), one, d(data)); other == base {
		t.Error("the hash does not depend on the key")
	}
	// With All, a new key counts as a change.
	_, allBase, _ := hashes(key, all, d(data))
	more := map[string][]byte{"used": data["used"], "other": data["other"], "added": []byte("x")}
	if _, v, _ := hashes(key, all, d(more)); v == allBase {
		t.Error("a key added to a Secret read whole is not a change")
	}
}

func TestObserved(t *testing.T) {
	s, v, ok := parseObserved(formatObserved("abc", "def"))
	if !ok || s != "abc" || v != "def" {
		t.Errorf("round trip: %q %q %v", s, v, ok)
	}
	for _, bad := range []string{"", "v2:a:b", "v1:a", "junk"} {
		if _, _, ok := parseObserved(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
