package v1alpha1

import (
	"encoding/json"
	"testing"
)

func TestEncryptedDataIsLenient(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{`{"spec":{"encryptedData":{"a":"AgA=","b":"x"}}}`, map[string]string{"a": "AgA=", "b": "x"}},
		{`{"spec":{"encryptedData":{"a":"AgA=","b":7}}}`, map[string]string{"a": "AgA="}},
		{`{"spec":{"encryptedData":"oops"}}`, map[string]string{}},
		{`{"spec":{"encryptedData":{}}}`, map[string]string{}},
	}
	for _, tt := range tests {
		var ss SealedSecret
		if err := json.Unmarshal([]byte(tt.in), &ss); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if len(ss.Spec.EncryptedData) != len(tt.want) {
			t.Fatalf("%s: got %v", tt.in, ss.Spec.EncryptedData)
		}
		for k, v := range tt.want {
			if ss.Spec.EncryptedData[k] != v {
				t.Errorf("%s: %s = %q", tt.in, k, ss.Spec.EncryptedData[k])
			}
		}
	}
}

func TestDeepCopyIsDeep(t *testing.T) {
	yes := true
	ss := &SealedSecret{Spec: SealedSecretSpec{
		EncryptedData: SealedSecretEncryptedData{"a": "1"},
		Template:      SecretTemplateSpec{Immutable: &yes, Data: map[string]string{"t": "{{ .a }}"}},
	}}
	cp := ss.DeepCopy()
	cp.Spec.EncryptedData["a"] = "2"
	cp.Spec.Template.Data["t"] = "x"
	*cp.Spec.Template.Immutable = false
	if ss.Spec.EncryptedData["a"] != "1" || ss.Spec.Template.Data["t"] != "{{ .a }}" || !*ss.Spec.Template.Immutable {
		t.Fatal("DeepCopy shares memory with the original")
	}
}
