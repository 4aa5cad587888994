package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestNamespacedStoresIdentityFlag(t *testing.T) {
	const flag = "--namespaced-stores-may-use-controller-identity"
	tests := []struct {
		name string
		args []string
		code int
		out  []string // substrings of stdout+stderr
	}{
		{name: "help names the flag and whom it is for", args: []string{"--help"}, code: 0,
			out: []string{flag, "every namespace user is trusted", "ClusterSecretStores may always"}},
		{name: "bool only", args: []string{flag + "=maybe"}, code: 1,
			out: []string{`invalid argument "maybe" for "` + flag + `"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			args := append([]string{"keyward", "controller"}, tt.args...)
			code := Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errs}, func(string) string { return "" })
			all := out.String() + errs.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d; output %q", code, tt.code, all)
			}
			for _, want := range tt.out {
				if !strings.Contains(all, want) {
					t.Errorf("output lacks %q:\n%s", want, all)
				}
			}
		})
	}
}
