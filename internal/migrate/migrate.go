// Package migrate holds what the steps of `keyward migrate` share: the
// report of what a step would do or did, one Action per change, written as
// a table for people or as JSON. Actions name objects, files, store paths
// and keys; they never carry a value or anything derived from one, except
// a keyed hash where a step compares values (promote).
//
// The steps live in subpackages: source reads the Secrets to migrate (a
// cluster namespace, a Git tree of manifests, SealedSecrets opened with a
// key backup), tosealed writes SealedSecrets, tostore pushes values into an
// external store and hands the Secrets over to ExternalSecrets, promote
// compares two environments.
package migrate

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Op is what an Action does.
type Op string

// The operations steps report. A plan reports what it would do; a run
// reports what it did, with Unchanged where a rerun found the work done.
const (
	Unchanged         Op = "unchanged"          // already as wanted: nothing to do
	WriteSealedSecret Op = "write-sealedsecret" // a SealedSecret manifest written to Target
	RemovePlaintext   Op = "remove-plaintext"   // a plaintext manifest (or its part) removed from Target
	Adopt             Op = "adopt"              // an existing Secret marked so its new owner takes it over in place
	Apply             Op = "apply"              // an object applied to the cluster
	Push              Op = "push"               // a value written to the store at Target
	WriteExternal     Op = "write-externalsecret"
	Delete            Op = "delete" // an object removed (SealedSecrets after --cleanup), its Secret kept
	Missing           Op = "missing"
	Same              Op = "same-value" // promote: the same value in both environments
	Skipped           Op = "skipped"    // a change left for later, Note says why
	Verified          Op = "verified"   // checked and found as wanted, nothing changed
	Copy              Op = "copy"       // promote --values: values copied into the target
	WriteManifest     Op = "write-manifest"
)

// changes says whether op changes something (as opposed to reporting).
func (op Op) changes() bool {
	return op != Unchanged && op != Same && op != Missing && op != Skipped && op != Verified
}

// Action is one change of a step, for one Secret.
type Action struct {
	// Secret is the Secret concerned, as namespace/name.
	Secret string `json:"secret"`
	Op     Op     `json:"op"`
	// Target is where the change lands: a file, a store path, an object.
	Target string `json:"target,omitempty"`
	// Keys are the Secret's keys concerned.
	Keys []string `json:"keys,omitempty"`
	// Differs says what differs from what is there now ("" when nothing
	// does or nothing is there); never a value.
	Differs string `json:"differs,omitempty"`
	// Consumers are the workloads that use the Secret (Kind/namespace/name).
	Consumers []string `json:"consumers,omitempty"`
	// Note is any further word for people (why a step was skipped).
	Note string `json:"note,omitempty"`
}

// Report is what one step did or would do.
type Report struct {
	Step    string   `json:"step"`
	DryRun  bool     `json:"dryRun"`
	Actions []Action `json:"actions"`
}

// Add appends an action.
func (r *Report) Add(a Action) { r.Actions = append(r.Actions, a) }

// Changes counts the actions that change something.
func (r Report) Changes() int {
	n := 0
	for _, a := range r.Actions {
		if a.Op.changes() {
			n++
		}
	}
	return n
}

// Write prints the report as "table" (the default) or "json".
func (r Report) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if r.Actions == nil {
			r.Actions = []Action{}
		}
		return enc.Encode(r)
	case "", "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SECRET\tACTION\tTARGET\tKEYS\tDETAIL")
		for _, a := range r.Actions {
			detail := a.Differs
			if a.Note != "" {
				detail = strings.TrimPrefix(detail+"; "+a.Note, "; ")
			}
			if len(a.Consumers) > 0 {
				detail = strings.TrimPrefix(detail+"; used by "+strings.Join(a.Consumers, ", "), "; ")
			}
			op := string(a.Op)
			if r.DryRun && a.Op.changes() {
				op = "would " + op
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Secret, op, dash(a.Target), dash(strings.Join(a.Keys, ",")), dash(detail))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		verb := "made"
		if r.DryRun {
			verb = "would make"
		}
		_, err := fmt.Fprintf(w, "%s: %s %d change(s), %d action(s) in all\n", r.Step, verb, r.Changes(), len(r.Actions))
		return err
	default:
		return fmt.Errorf("unknown output format %q (table or json)", format)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
