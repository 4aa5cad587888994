package externalsecret

import (
	"strings"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/rewrite"
	"github.com/keyward/keyward/test/leak"
)

const canary = "Cn4ry-s3cret/v4lue+42"

func TestFetchPathErrorsCarryNoValue(t *testing.T) {
	notJSON := []byte("{" + canary)
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"decodingStrategy Base64", func() error { _, err := rewrite.Decode(esv1.DecodingStrategyBase64, []byte(canary+"!")); return err }, "decodingStrategy Base64: the value is not base64"},
		{"decodingStrategy Base64URL", func() error { _, err := rewrite.Decode(esv1.DecodingStrategyBase64URL, []byte(canary)); return err }, "decodingStrategy Base64URL: the value is not base64url"},
		{"property of a non-JSON value", func() error { _, err := provider.Secret{Value: notJSON}.Property("user"); return err }, `property "user": the value is not JSON`},
		{"extract of a non-JSON value", func() error { _, err := provider.Secret{Value: notJSON}.Map(); return err }, "the value is not a JSON object"},
		{"nullBytePolicy Fail", func() error { return rewrite.CheckNullBytes(esv1.NullBytePolicyFail, []byte(canary+"\x00")) }, "the value holds a NUL byte"},
		{"merge of a non-JSON value", func() error {
			_, err := rewrite.Apply(map[string][]byte{"k": notJSON}, []esv1.ExternalSecretRewrite{{Merge: &esv1.ExternalSecretRewriteMerge{}}}, "spec.dataFrom[0]")
			return err
		}, `spec.dataFrom[0].rewrite[0].merge: the value of key "k" is not a JSON object`},
		{"transform fails on the key", func() error {
			_, err := rewrite.Apply(map[string][]byte{canary: []byte("v")}, []esv1.ExternalSecretRewrite{{Transform: &esv1.ExternalSecretRewriteTransform{Template: `{{ .value | b64enc | fail }}`}}}, "spec.dataFrom[0]")
			return err
		}, `template "spec.dataFrom[0].rewrite[0].transform": 1:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("no error")
			}
			leak.CheckError(t, err.Error(), canary)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to hold %q", err, tt.want)
			}
		})
	}
}
