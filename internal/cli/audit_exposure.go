package cli

import (
	"context"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/exposure"
	"github.com/keyward/keyward/internal/audit/inventory"
)

func exposureCheck(f *auditFlags) *auditCheck {
	return &auditCheck{
		name:  "exposure",
		short: "Find Secret values where they should not be, and Secret-mounting Pods without NetworkPolicy",
		long: `Find Secret material outside Secrets, by rule:

  last-applied      (high)   a Secret whose kubectl last-applied annotation holds data or stringData
  configmap-copy    (high)   a ConfigMap holding a Secret's value
  env-literal       (high)   a Pod or workload env value, command or arg holding a Secret's value
  event-copy        (high)   an Event message holding a Secret's value
  helm-release      (high)   a Helm release Secret whose decoded release holds another Secret's value
  secret-env        (low)    a Secret taken as environment variables (CIS 5.4.1: prefer files)
  no-networkpolicy  (medium) a Pod mounting a Secret that no NetworkPolicy selects
                             (low when only ingress or only egress is covered)

Values are compared by keyed hash in memory, whole and by part (lines, words, name=value);
values shorter than 8 bytes and certificates (ca.crt, tls.crt) are not looked for. Output names
objects, fields and keys, never values.

Reads Secrets with their values, ConfigMaps, Events, Pods, Deployments, StatefulSets,
DaemonSets and NetworkPolicies.`,
		example: `  keyward audit exposure
  keyward audit exposure -n payments -o sarif > exposure.sarif`,
		need: inventory.SecretValues | inventory.ConfigMaps | inventory.Events | inventory.Pods |
			inventory.Workloads | inventory.NetworkPolicies,
		run: func(ctx context.Context, env *auditEnv) (*audit.Result, error) {
			snap, err := env.snapshot(ctx)
			if err != nil {
				return nil, err
			}
			env.progress.Update("searching for exposed values", 0, 0)
			return exposure.Check(snap, exposure.Options{})
		},
	}
}
