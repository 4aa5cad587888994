package vault

import (
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func TestNextRefresh(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name     string
		ttl      time.Duration
		age      time.Duration // since the token was issued or renewed
		failures int
		want     time.Duration // after issue; 0 = never
	}{
		{name: "no TTL is never refreshed", ttl: 0, want: 0},
		{name: "at two thirds of the TTL", ttl: time.Hour, want: 40 * time.Minute},
		{name: "first retry after a second", ttl: time.Hour, age: 41 * time.Minute, failures: 1, want: 41*time.Minute + time.Second},
		{name: "retries back off", ttl: time.Hour, age: 41 * time.Minute, failures: 4, want: 41*time.Minute + 8*time.Second},
		{name: "backoff is capped", ttl: time.Hour, age: 41 * time.Minute, failures: 30, want: 42 * time.Minute},
		{name: "never past expiry", ttl: 30 * time.Second, age: 29 * time.Second, failures: 5, want: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.age)
			s := newSession("SecretStore/app/vault", nil, authenticator{}, func() time.Time { return now }, logr.Discard())
			s.ttl, s.issued, s.failures = tt.ttl, t0, tt.failures
			got := s.nextRefresh()
			if tt.want == 0 {
				if !got.IsZero() {
					t.Fatalf("nextRefresh = %s; want never", got)
				}
				return
			}
			if d := got.Sub(t0); d != tt.want {
				t.Fatalf("nextRefresh = issue + %s; want issue + %s", d, tt.want)
			}
		})
	}
}
