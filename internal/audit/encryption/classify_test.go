package encryption

import "testing"

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		want  State
	}{
		{"protobuf plaintext", "k8s\x00\n\x0c\n\x02v1\x12\x06Secret", State{Provider: Identity}},
		{"json plaintext", `{"kind":"Secret","apiVersion":"v1"}`, State{Provider: Identity}},
		{"json after whitespace", "\n {\"kind\":\"Secret\"}", State{Provider: Identity}},
		{"aescbc", "k8s:enc:aescbc:v1:key1:\x8f\x01:\x02", State{Encrypted: true, Provider: AESCBC, Key: "key1"}},
		{"aesgcm", "k8s:enc:aesgcm:v1:second-key:\x00\x01", State{Encrypted: true, Provider: AESGCM, Key: "second-key"}},
		{"secretbox", "k8s:enc:secretbox:v1:box:xyz", State{Encrypted: true, Provider: Secretbox, Key: "box"}},
		{"kms v1", "k8s:enc:kms:v1:vault:\x00\x20", State{Encrypted: true, Provider: KMSv1, Key: "vault"}},
		{"kms v2", "k8s:enc:kms:v2:cloudkms:\x0a\x10", State{Encrypted: true, Provider: KMSv2, Key: "cloudkms"}},
		{"unknown provider", "k8s:enc:rot13:v1:k:abc", State{Provider: Unknown}},
		{"unknown version", "k8s:enc:aescbc:v9:k:abc", State{Provider: Unknown}},
		{"no ciphertext separator", "k8s:enc:aescbc:v1:key1", State{Provider: Unknown}},
		{"empty key name", "k8s:enc:aescbc:v1::abc", State{Provider: Unknown}},
		{"binary in key name", "k8s:enc:aescbc:v1:a\x00b:abc", State{Provider: Unknown}},
		{"random bytes", "\x01\x02\x03", State{Provider: Unknown}},
		{"empty", "", State{Provider: Unknown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify([]byte(tc.value)); got != tc.want {
				t.Errorf("Classify(%q) = %+v, want %+v", tc.value, got, tc.want)
			}
		})
	}
}

func TestSecretsPrefix(t *testing.T) {
	for _, tc := range []struct{ prefix, ns, want string }{
		{"", "", "/registry/secrets/"},
		{"/registry", "team-a", "/registry/secrets/team-a/"},
		{"/custom/", "", "/custom/secrets/"},
	} {
		if got := SecretsPrefix(tc.prefix, tc.ns); got != tc.want {
			t.Errorf("SecretsPrefix(%q, %q) = %q, want %q", tc.prefix, tc.ns, got, tc.want)
		}
	}
}
