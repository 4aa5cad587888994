package encryption

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Fix rewrites, through the API server, every Secret whose record says it is
// plaintext or under an older key: it reads the Secret and updates it
// unchanged. The API server then sees the value came from a provider that is
// not its first and stores it anew with its write provider and key (an
// unchanged update of a value already under the write key is not written).
// Values pass through memory only. It returns how many were rewritten;
// Secrets deleted meanwhile are skipped, and the first errors are returned
// joined after trying every Secret.
func Fix(ctx context.Context, cs kubernetes.Interface, records []Record, progress func(done, total int)) (int, error) {
	var todo []Record
	for _, r := range records {
		if r.Rewrite() {
			todo = append(todo, r)
		}
	}
	var errs []error
	done := 0
	for i, r := range todo {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			s, err := cs.CoreV1().Secrets(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			_, err = cs.CoreV1().Secrets(r.Namespace).Update(ctx, s, metav1.UpdateOptions{FieldManager: "keyward-audit"})
			return err
		})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			if len(errs) < 10 {
				errs = append(errs, fmt.Errorf("rewriting Secret %s/%s: %w", r.Namespace, r.Name, err))
			}
		default:
			done++
		}
		if progress != nil {
			progress(i+1, len(todo))
		}
	}
	if len(errs) > 0 {
		return done, fmt.Errorf("rewrote %d of %d Secret(s): %w", done, len(todo), errors.Join(errs...))
	}
	return done, nil
}
