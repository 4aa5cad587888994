package gcp

import (
	"context"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/keyward/keyward/internal/provider"
)

const (
	defaultRetries    = 5
	initialBackoff    = 200 * time.Millisecond
	defaultMaxBackoff = 30 * time.Second
)

// setRetries replaces the generated clients' retry settings for the calls
// this provider makes: retry UNAVAILABLE and RESOURCE_EXHAUSTED (quota)
// with exponential backoff, bounded by spec.retrySettings.
func setRetries(c *secretmanager.Client, r provider.Retry) {
	attempts := defaultRetries
	if r.MaxRetries >= 0 {
		attempts = r.MaxRetries
	}
	backoff := gax.Backoff{Initial: initialBackoff, Max: defaultMaxBackoff, Multiplier: 2}
	if r.Interval > 0 {
		backoff.Max = r.Interval
		backoff.Initial = min(backoff.Initial, r.Interval)
	}
	retry := []gax.CallOption{gax.WithRetry(func() gax.Retryer {
		return &limited{left: attempts, r: gax.OnCodes([]codes.Code{codes.Unavailable, codes.ResourceExhausted}, backoff)}
	})}
	o := c.CallOptions
	o.AccessSecretVersion, o.GetSecret, o.ListSecrets, o.ListSecretVersions = retry, retry, retry, retry
	o.CreateSecret, o.AddSecretVersion, o.DeleteSecret = retry, retry, retry
}

// limited stops a gax retryer after a number of retries.
type limited struct {
	left int
	r    gax.Retryer
}

func (l *limited) Retry(err error) (time.Duration, bool) {
	if l.left <= 0 {
		return 0, false
	}
	l.left--
	return l.r.Retry(err)
}

// countThrottles sees every attempt below the retry loop and reports quota
// errors to the provider Manager's metrics.
func countThrottles(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if status.Code(err) == codes.ResourceExhausted {
		provider.StoreThrottled(ctx)
	}
	return err
}
