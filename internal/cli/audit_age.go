package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/keyward/keyward/internal/audit"
	auditage "github.com/keyward/keyward/internal/audit/age"
	"github.com/keyward/keyward/internal/audit/inventory"
)

func ageCheck(f *auditFlags) *auditCheck {
	maxAge := "90d"
	return &auditCheck{
		name:  "age",
		short: "Report when each Secret's value last changed, and where it comes from",
		long: `Report, for each Secret, when its value last changed and where the value comes from
(SealedSecret, ExternalSecret, an ESO generator, or manual), against --max-age.

The change time is read, best first, from the value-changed-at annotation Keyward's controllers
set when they change a Secret's data (basis "annotation"), else from the newest managedFields
entry that owns data (basis "managedFields": when that writer last changed the Secret, so the
value may be older, never younger), else from the creation time (basis "created").

Severity: medium over --max-age, high over twice it. service-account-token and Helm release
Secrets are skipped. Reads Secrets' metadata only, never their values.`,
		example: `  keyward audit age
  keyward audit age --max-age 30d -n payments -o json`,
		need: inventory.SecretNames | inventory.SecretHistory,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&maxAge, "max-age", maxAge, `longest a value may go unchanged: days ("90d") or a duration ("2160h")`)
		},
		run: func(ctx context.Context, env *auditEnv) (*audit.Result, error) {
			d, err := auditage.ParseMaxAge(maxAge)
			if err != nil {
				return nil, fmt.Errorf("--max-age: %w", err)
			}
			snap, err := env.snapshot(ctx)
			if err != nil {
				return nil, err
			}
			return auditage.Check(snap, auditage.Options{MaxAge: d, Now: time.Now()}), nil
		},
	}
}
