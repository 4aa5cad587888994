// Package secretwrite tells why the API server refused a Secret write
// without the text of its validation messages, which can quote the data
// (a dockerconfigjson that does not parse is reported with the JSON
// parser's error, which quotes a character of the value).
package secretwrite

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Error is a refused Secret write. Its text names the operation, the
// Secret, and each rejected field with the kind of rejection; the API
// server's Status stays reachable with errors.As (apierrors.IsInvalid).
type Error struct {
	Op, Secret string
	causes     []string
	err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s Secret %s: the API server rejected it: %s", e.Op, e.Secret, strings.Join(e.causes, "; "))
}

func (e *Error) Unwrap() error { return e.err }

// keepMessage are the cause types whose messages are fixed API server
// text; the others (Invalid above all) can carry the rejected value.
var keepMessage = map[metav1.CauseType]bool{
	metav1.CauseType(field.ErrorTypeForbidden): true,
	metav1.CauseTypeFieldValueRequired:         true,
}

// Wrap returns err for a write (op "creating" or "updating") of the Secret
// named secret ("namespace/name"). Invalid errors are retold by field and
// kind; others, whose messages name objects and reasons but no data, keep
// their text.
func Wrap(op, secret string, err error) error {
	if err == nil {
		return nil
	}
	if !apierrors.IsInvalid(err) {
		return fmt.Errorf("%s Secret %s: %w", op, secret, err)
	}
	out := &Error{Op: op, Secret: secret, err: err}
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Details != nil {
		d := st.Status().Details
		for _, c := range d.Causes {
			what := string(c.Type)
			if keepMessage[c.Type] {
				what = c.Message
			}
			if c.Field != "" {
				what = c.Field + ": " + what
			}
			out.causes = append(out.causes, what)
		}
	}
	if len(out.causes) == 0 {
		out.causes = []string{"invalid"}
	}
	return out
}
