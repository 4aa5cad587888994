package aws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/keyward/keyward/internal/provider"
)

// newRetryer is the SDK's standard retryer (exponential backoff with
// jitter, which also answers throttling) tuned by spec.retrySettings.
func newRetryer(r provider.Retry) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		if r.MaxRetries >= 0 {
			o.MaxAttempts = r.MaxRetries + 1
		}
		if r.Interval > 0 {
			o.MaxBackoff = r.Interval
		}
	})
}

var isThrottle = retry.IsErrorThrottles(retry.DefaultThrottles)

// throttleReporting adds, inside the retry loop, a step that sees every
// attempt and reports the throttled ones to the provider Manager's metrics.
func throttleReporting(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("KeywardThrottleCount",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleFinalize(ctx, in)
			if err != nil && isThrottle.IsErrorThrottle(err) == aws.TrueTernary {
				provider.StoreThrottled(ctx)
			}
			return out, md, err
		}), "Retry", middleware.After)
}

// describe shortens an SDK error to its AWS error code and message: the
// full text repeats the operation and request ID, which say nothing to a
// user reading a status. Messages from AWS never hold secret values.
func describe(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		return fmt.Errorf("%s: %s", api.ErrorCode(), api.ErrorMessage())
	}
	return err
}

// errorCode returns the AWS error code of err ("" when it has none).
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
