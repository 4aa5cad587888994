package aws

import (
	"context"
	"errors"
	"net"
	"net/url"

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

// describe tells an SDK error by its HTTP status and AWS error code only.
// The message, and a code outside the known set, stay out: the endpoint
// follows the store's region, and a reply can echo anything.
func describe(err error) error {
	var st interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &st) {
		status = st.HTTPStatusCode()
	}
	code := errorCode(err)
	if !knownCodes[code] {
		code = ""
	}
	var de *smithy.DeserializationError
	var ue *url.Error
	var ne net.Error
	if status == 0 && errorCode(err) == "" && !errors.As(err, &de) && !errors.As(err, &ue) && !errors.As(err, &ne) {
		return err // the SDK's own error (no reply involved), such as missing credentials
	}
	var kind error
	switch {
	case isThrottle.IsErrorThrottle(err) == aws.TrueTernary:
		kind = provider.ErrThrottled
	case deniedCodes[code]:
		kind = provider.ErrDenied
	}
	return provider.RemoteCode("", "", status, code, kind, err)
}

// knownCodes are the AWS error codes an error may name; deniedCodes the
// ones that mean the credentials or the access were refused.
var (
	knownCodes = map[string]bool{
		"AccessDeniedException": true, "AccessDenied": true, "UnrecognizedClientException": true,
		"InvalidClientTokenId": true, "ExpiredTokenException": true, "ExpiredToken": true,
		"InvalidSignatureException": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
		"ThrottlingException": true, "Throttling": true, "TooManyUpdates": true, "LimitExceededException": true,
		"ValidationException": true, "InvalidParameterException": true, "InvalidRequestException": true,
		"ResourceNotFoundException": true, "ResourceExistsException": true, "DecryptionFailure": true,
		"EncryptionFailure": true, "InternalServiceError": true, "InternalServerError": true,
		"ParameterNotFound": true, "ParameterAlreadyExists": true, "ParameterLimitExceeded": true,
		"ParameterVersionNotFound": true, "InvalidKeyId": true, "HierarchyLevelLimitExceededException": true,
		"UnsupportedParameterType": true, "InvalidIdentityToken": true, "IDPCommunicationError": true,
		"IDPRejectedClaim": true, "RegionDisabledException": true, "MalformedPolicyDocument": true,
	}
	deniedCodes = map[string]bool{
		"AccessDeniedException": true, "AccessDenied": true, "UnrecognizedClientException": true,
		"InvalidClientTokenId": true, "ExpiredTokenException": true, "ExpiredToken": true,
		"InvalidSignatureException": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
	}
)

// errorCode returns the AWS error code of err ("" when it has none).
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
