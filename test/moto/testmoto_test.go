package testmoto

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStartCountThrottleReset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()

	call := func() int {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(`{}`))
		req.Header.Set("X-Amz-Target", "secretsmanager.ListSecrets")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	s.Throttle("secretsmanager.ListSecrets", 1)
	if code := call(); code != http.StatusBadRequest {
		t.Fatalf("throttled call: HTTP %d", code)
	}
	if code := call(); code != http.StatusOK {
		t.Fatalf("call through to moto: HTTP %d", code)
	}
	if n := s.Count("secretsmanager.ListSecrets"); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	s.Reset(t)
	if n := s.Count("secretsmanager.ListSecrets"); n != 0 {
		t.Fatalf("count after reset = %d", n)
	}
}

func TestMissingMotoServerFailsClearly(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "moto_server is not on PATH") {
		t.Fatalf("err = %v", err)
	}
}
