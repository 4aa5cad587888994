package externalsecret

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/esrender"
)

func TestRenderWithoutTemplate(t *testing.T) {
	values := map[string][]byte{"user": []byte("app"), "password": []byte("pw")}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "es", Namespace: "ns", Labels: map[string]string{"team": "a"}, Annotations: map[string]string{lastApplied: "{}", "note": "x"}}}
	got, err := render(context.Background(), nil, es, values)
	if err != nil {
		t.Fatal(err)
	}
	gotData := map[string]string{}
	for k, v := range got.Data {
		gotData[k] = string(v)
	}
	if !maps.Equal(gotData, map[string]string{"user": "app", "password": "pw"}) || !maps.Equal(got.Labels, map[string]string{"team": "a"}) {
		t.Errorf("data %v labels %v; want the values and the ExternalSecret's labels", gotData, got.Labels)
	}
	if got.Annotations["note"] != "x" {
		t.Errorf("annotations %v; want the ExternalSecret's", got.Annotations)
	}
	if _, ok := got.Annotations[lastApplied]; ok {
		t.Error("kubectl's last-applied annotation copied")
	}
}

func TestDesiredStripsOnlyWhatItOwned(t *testing.T) {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "es", Namespace: "ns", UID: "u1"}}
	current := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", Labels: map[string]string{"old": "1", "foreign": "1"},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: fieldManager("es"), Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{"f:gone":{},"f:kept":{}},"f:metadata":{"f:labels":{"f:old":{}}}}`)},
			}}},
		Data: map[string][]byte{"gone": []byte("1"), "kept": []byte("1"), "foreign": []byte("f")},
	}
	want := desired(es, "s", current, esrender.Result{Data: map[string][]byte{"kept": []byte("2")}, Labels: map[string]string{}, Annotations: map[string]string{}})
	if got := sortedKeys(want.Data); strings.Join(got, ",") != "foreign,kept" || string(want.Data["kept"]) != "2" {
		t.Errorf("data keys %v", got)
	}
	if _, ok := want.Labels["old"]; ok || want.Labels["foreign"] != "1" || want.Labels[esv1.LabelManaged] != "true" {
		t.Errorf("labels %v", want.Labels)
	}
	if !isValid(want) {
		t.Error("the desired Secret does not carry a matching data hash")
	}
	if err := setOwner(want, es); err != nil || len(want.OwnerReferences) != 1 {
		t.Fatalf("setOwner: %v", err)
	}
	other := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns", UID: "u2"}}
	if err := setOwner(want, other); err == nil || !strings.Contains(err.Error(), "owned by ExternalSecret es") {
		t.Errorf("taking a Secret owned by another ExternalSecret: %v", err)
	}
}

func TestRefreshDue(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	synced := func(ago time.Duration, policy esv1.ExternalSecretRefreshPolicy) *esv1.ExternalSecret {
		return &esv1.ExternalSecret{Spec: esv1.ExternalSecretSpec{RefreshPolicy: policy},
			Status: esv1.ExternalSecretStatus{RefreshTime: metav1.NewTime(now.Add(-ago))}}
	}
	tests := []struct {
		name     string
		es       *esv1.ExternalSecret
		interval time.Duration
		changed  bool
		want     bool
	}{
		{"never synced", &esv1.ExternalSecret{}, time.Hour, false, true},
		{"fresh", synced(time.Minute, ""), time.Hour, false, false},
		{"inside the jitter window", synced(55*time.Minute, ""), time.Hour, false, false},
		{"jitter allowance reached", synced(58*time.Minute, ""), time.Hour, false, true},
		{"changed", synced(time.Minute, ""), time.Hour, true, true},
		{"interval 0 reads once", synced(48*time.Hour, ""), 0, false, false},
		{"CreatedOnce", synced(48*time.Hour, esv1.RefreshPolicyCreatedOnce), time.Hour, true, false},
		{"OnChange unchanged", synced(48*time.Hour, esv1.RefreshPolicyOnChange), time.Hour, false, false},
		{"OnChange changed", synced(time.Minute, esv1.RefreshPolicyOnChange), time.Hour, true, true},
		{"refreshTime in the future", synced(-time.Hour, ""), time.Hour, false, true},
	}
	for _, tt := range tests {
		if got := refreshDue(tt.es, now, tt.interval, tt.changed); got != tt.want {
			t.Errorf("%s: refreshDue = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
