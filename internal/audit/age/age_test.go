package age

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
	"github.com/keyward/keyward/internal/controller/externalsecret"
	"github.com/keyward/keyward/internal/controller/sealedsecret"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }

func managed(manager string, at time.Time, fields string) metav1.ManagedFieldsEntry {
	t := metav1.NewTime(at)
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Time: &t,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

func TestMarksMatchTheControllers(t *testing.T) {
	if SealedValueChanged != sealedsecret.ValueChangedAnnotation || ExternalValueChanged != externalsecret.ValueChangedAnnotation {
		t.Fatal("the value-changed annotation names differ from the controllers'")
	}
}

func TestCheck(t *testing.T) {
	yes := true
	tests := []struct {
		name       string
		meta       metav1.ObjectMeta
		wantSource string
		wantBasis  string
		wantAge    string
		wantSev    audit.Severity
	}{
		{
			name:       "manual, created long ago, data never rewritten",
			meta:       metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(200))},
			wantSource: SourceManual, wantBasis: BasisCreated, wantAge: "200d", wantSev: audit.High,
		},
		{
			name: "manual, data rewritten recently (near miss: created long ago)",
			meta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(200)), ManagedFields: []metav1.ManagedFieldsEntry{
				managed("kubectl-create", daysAgo(200), `{"f:data":{".":{},"f:password":{}},"f:type":{}}`),
				managed("kubectl-edit", daysAgo(10), `{"f:data":{"f:password":{}}}`),
				managed("kubectl-label", daysAgo(1), `{"f:metadata":{"f:labels":{"f:team":{}}}}`),
			}},
			wantSource: SourceManual, wantBasis: BasisManagedFields, wantAge: "10d", wantSev: audit.None,
		},
		{
			name: "label change is no value change",
			meta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(120)), ManagedFields: []metav1.ManagedFieldsEntry{
				managed("kubectl-create", daysAgo(100), `{"f:data":{"f:password":{}}}`),
				managed("kubectl-label", daysAgo(1), `{"f:metadata":{"f:labels":{"f:team":{}}}}`),
			}},
			wantSource: SourceManual, wantBasis: BasisManagedFields, wantAge: "100d", wantSev: audit.Medium,
		},
		{
			name: "SealedSecret with Keyward's mark wins over managedFields",
			meta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(300)),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret", Name: "db", Controller: &yes}},
				Annotations:     map[string]string{SealedValueChanged: daysAgo(95).Format(time.RFC3339)},
				ManagedFields:   []metav1.ManagedFieldsEntry{managed("keyward", daysAgo(2), `{"f:data":{"f:password":{}}}`)}},
			wantSource: SourceSealedSecret, wantBasis: BasisAnnotation, wantAge: "95d", wantSev: audit.Medium,
		},
		{
			name: "ExternalSecret owner",
			meta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(5)),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret", Name: "db"}},
				Annotations:     map[string]string{ExternalValueChanged: daysAgo(3).Format(time.RFC3339)}},
			wantSource: SourceExternalSecret, wantBasis: BasisAnnotation, wantAge: "3d", wantSev: audit.None,
		},
		{
			name: "ExternalSecret Merge policy: no owner, managed label",
			meta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(5)),
				Labels: map[string]string{"reconcile.external-secrets.io/managed": "true"}},
			wantSource: SourceExternalSecret, wantBasis: BasisCreated, wantAge: "5d", wantSev: audit.None,
		},
		{
			name: "generator owner",
			meta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(1)),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "generators.external-secrets.io/v1alpha1", Kind: "Password", Name: "pw"}}},
			wantSource: SourceGenerator, wantBasis: BasisCreated, wantAge: "1d", wantSev: audit.None,
		},
		{
			name: "a SealedSecret of another group is not Bitnami's",
			meta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(1)),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "example.com/v1", Kind: "SealedSecret", Name: "x"}}},
			wantSource: SourceManual, wantBasis: BasisCreated, wantAge: "1d", wantSev: audit.None,
		},
		{
			name:       "unparsable mark falls back",
			meta:       metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(daysAgo(91)), Annotations: map[string]string{SealedValueChanged: "yesterday"}},
			wantSource: SourceSealedSecret, wantBasis: BasisCreated, wantAge: "91d", wantSev: audit.Medium,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.meta
			m.Namespace, m.Name = "ns", "s"
			res := Check(&inventory.Snapshot{SecretMeta: []metav1.ObjectMeta{m}}, Options{Now: now})
			recs := res.Records.([]Record)
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			if r.Source != tt.wantSource || r.Basis != tt.wantBasis || r.Age != tt.wantAge || r.Severity != tt.wantSev {
				t.Errorf("got source %s basis %s age %s severity %s; want %s %s %s %s",
					r.Source, r.Basis, r.Age, r.Severity, tt.wantSource, tt.wantBasis, tt.wantAge, tt.wantSev)
			}
			if (tt.wantSev > audit.None) != (len(res.Findings) == 1) {
				t.Errorf("findings %v", res.Findings)
			}
		})
	}
}

func TestSkipsKubernetesAndHelmSecrets(t *testing.T) {
	old := metav1.NewTime(daysAgo(400))
	snap := &inventory.Snapshot{SecretMeta: []metav1.ObjectMeta{
		{Namespace: "ns", Name: "sa-token", CreationTimestamp: old, Annotations: map[string]string{
			"kubernetes.io/service-account.name": "default", "kubernetes.io/service-account.uid": "u"}},
		{Namespace: "ns", Name: "sh.helm.release.v1.app.v1", CreationTimestamp: old, Labels: map[string]string{"owner": "helm"}},
		// Near misses: not the marks that tell.
		{Namespace: "ns", Name: "half-token", CreationTimestamp: old, Annotations: map[string]string{"kubernetes.io/service-account.uid": "u"}},
		{Namespace: "ns", Name: "sh.helm.release.v1.fake", CreationTimestamp: old},
	}}
	res := Check(snap, Options{Now: now})
	var names []string
	for _, r := range res.Records.([]Record) {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "half-token,sh.helm.release.v1.fake" {
		t.Errorf("reported %v", names)
	}
	if len(res.Notes) != 2 {
		t.Errorf("notes %v", res.Notes)
	}
}

func TestParseMaxAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90d", 90 * 24 * time.Hour, false},
		{"2160h", 90 * 24 * time.Hour, false},
		{"36h30m", 36*time.Hour + 30*time.Minute, false},
		{"0d", 0, true},
		{"-5d", 0, true},
		{"1.5d", 0, true},
		{"-1h", 0, true},
		{"ninety", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMaxAge(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseMaxAge(%q) = %v, %v", tt.in, got, err)
		}
	}
}
