package rotation

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestUsedKeys(t *testing.T) {
	ref := func(name, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}}
	}
	vol := func(name string, items ...string) corev1.Volume {
		v := corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}
		for _, i := range items {
			v.Secret.Items = append(v.Secret.Items, corev1.KeyToPath{Key: i, Path: i})
		}
		return v
	}
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want []string
	}{
		{"env keys, sorted and once", corev1.PodSpec{Containers: []corev1.Container{
			{Env: []corev1.EnvVar{ref("db", "user"), ref("db", "password"), ref("other", "token")}},
			{Env: []corev1.EnvVar{ref("db", "user")}}}}, []string{"password", "user"}},
		{"init containers count", corev1.PodSpec{InitContainers: []corev1.Container{{Env: []corev1.EnvVar{ref("db", "migrate")}}}}, []string{"migrate"}},
		{"envFrom is the whole Secret", corev1.PodSpec{Containers: []corev1.Container{{
			Env:     []corev1.EnvVar{ref("db", "user")},
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}}}}}, []string{"*"}},
		{"volume without items is the whole Secret", corev1.PodSpec{Volumes: []corev1.Volume{vol("db")}}, []string{"*"}},
		{"volume with items", corev1.PodSpec{Volumes: []corev1.Volume{vol("db", "tls.crt", "tls.key")}}, []string{"tls.crt", "tls.key"}},
		{"projected with items", corev1.PodSpec{Volumes: []corev1.Volume{{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "db"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca"}}}}}}}}}}, []string{"ca.crt"}},
		{"near miss: another Secret", corev1.PodSpec{Containers: []corev1.Container{{Env: []corev1.EnvVar{ref("db-old", "user")}}},
			Volumes: []corev1.Volume{vol("dbx")}}, nil},
	} {
		if got := UsedKeys(&tc.spec, "db"); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
