package gcp

import (
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestAmbientIdentity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		auth     esv1.GCPSMAuth
		emulator string
		want     string
	}{
		{name: "application default credentials", want: "spec.provider.gcpsm.auth"},
		{name: "service-account key", auth: esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{SecretAccessKey: esv1.SecretKeySelector{Name: "k", Key: "k"}}}},
		{name: "workload identity", auth: esv1.GCPSMAuth{WorkloadIdentity: &esv1.GCPWorkloadIdentity{ServiceAccountRef: esv1.ServiceAccountSelector{Name: "sa"}}}},
		{name: "emulator without credentials", emulator: "127.0.0.1:9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Provider{Getenv: func(k string) string {
				if k == EmulatorHostEnv {
					return tc.emulator
				}
				return ""
			}}
			spec := &esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{Auth: tc.auth}}}
			if got, _ := p.AmbientIdentity(spec); got != tc.want {
				t.Fatalf("AmbientIdentity = %q, want %q", got, tc.want)
			}
		})
	}
}
