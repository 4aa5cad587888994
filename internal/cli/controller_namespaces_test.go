package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestWatchNamespacesFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
		err  string
	}{
		{name: "nothing given serves every namespace", want: nil},
		{name: "--watch-namespaces", args: []string{"--watch-namespaces", " team-a, team-b,team-a,"}, want: []string{"team-a", "team-b"}},
		{name: "ESO's --namespace", args: []string{"--namespace", "team-a"}, want: []string{"team-a"}},
		{name: "Bitnami's --all-namespaces=false is the own namespace", args: []string{"--all-namespaces=false"}, want: []string{"keyward"}},
		{name: "Bitnami's --additional-namespaces adds to it", args: []string{"--additional-namespaces", "team-a"}, want: []string{"keyward", "team-a"}},
		{name: "from SEALED_SECRETS_WATCH_NAMESPACES", env: map[string]string{"SEALED_SECRETS_WATCH_NAMESPACES": "team-b"}, want: []string{"team-b"}},
		{name: "flags that agree", args: []string{"--watch-namespaces", "keyward,team-a", "--additional-namespaces", "team-a"}, want: []string{"keyward", "team-a"}},
		{name: "flags that disagree", args: []string{"--watch-namespaces", "team-a", "--namespace", "team-b"},
			err: "--watch-namespaces (team-a) and --namespace (team-b) name different namespaces"},
		{name: "Bitnami's disagreeing", args: []string{"--watch-namespaces", "team-a", "--all-namespaces=false"},
			err: "--all-namespaces=false/--additional-namespaces (keyward)"},
		{name: "not a namespace name", args: []string{"--watch-namespaces", "team-a,Team_B"}, err: `--watch-namespaces: "Team_B" is not a namespace name`},
		{name: "ESO's flag checked too", args: []string{"--namespace", "a/b"}, err: `--namespace: "a/b" is not a namespace name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sealed sealedSecretsFlags
			var watch watchFlags
			fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
			sealed.register(fs)
			watch.register(fs)
			if err := fs.Parse(append([]string{"--controller-namespace", "keyward"}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string { return tt.env[k] }
			if err := applyEnv(fs, getenv); err != nil {
				t.Fatal(err)
			}
			o, err := sealed.options(getenv)
			if err != nil {
				t.Fatal(err)
			}
			got, err := watch.namespaces(o.Namespaces)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("namespaces = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
