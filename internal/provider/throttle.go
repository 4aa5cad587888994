package provider

import "context"

// throttleKey carries, in a call's context, what to do when the store
// answers that call with a throttling reply.
type throttleKey struct{}

// StoreThrottled records that the store answered the call running under ctx
// with a throttling reply (HTTP 429, ThrottlingException, RESOURCE_EXHAUSTED)
// that the SDK backs off from and retries. Providers call it from their SDK
// retry hooks; outside a Store call it does nothing.
func StoreThrottled(ctx context.Context) {
	if f, ok := ctx.Value(throttleKey{}).(func()); ok {
		f()
	}
}

// WithThrottleReporter returns ctx carrying f, which StoreThrottled calls:
// the runtime sets it around each call it makes to a store.
func WithThrottleReporter(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, throttleKey{}, f)
}
