package v1

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestSecretStoreProviderNames(t *testing.T) {
	tests := []struct {
		in          string
		names       []string
		unsupported []string
	}{
		{`{"kubernetes":{}}`, []string{"kubernetes"}, nil},
		{`{"fake":{},"vault":{"server":"https://v"}}`, []string{"fake", "vault"}, nil},
		{`{"doppler":{"auth":{}},"aws":{"service":"SecretsManager"}}`, []string{"aws", "doppler"}, []string{"doppler"}},
		{`{}`, nil, nil},
	}
	for _, tt := range tests {
		var p SecretStoreProvider
		if err := json.Unmarshal([]byte(tt.in), &p); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := p.Names(); !reflect.DeepEqual(got, tt.names) {
			t.Errorf("%s: Names() = %v, want %v", tt.in, got, tt.names)
		}
		if !reflect.DeepEqual(p.Unsupported, tt.unsupported) {
			t.Errorf("%s: Unsupported = %v, want %v", tt.in, p.Unsupported, tt.unsupported)
		}
	}
}
