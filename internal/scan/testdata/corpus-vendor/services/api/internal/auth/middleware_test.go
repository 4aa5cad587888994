package auth

import (
	"net/http/httptest"
	"testing"
)

// Tokens for the parser tests: unsigned, or signed with nothing real.
var parseCases = []struct {
	name, token string
	ok          bool
}{
	{"jwt.io sample", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRtaW4iOnRydWUsImlhdCI6MTUxNjIzOTAyMn0.DVDvbP-K_CCYlDFwK6OlWkdQ_XQxJ6STszYP7MZdwKl", true},
	{"unsigned", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c2VyLTQyIiwicm9sZSI6ImFkbWluIn0.", false},
	{"bad signature", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0LXVzZXIiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl", false},
}

func TestBearer(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1/orders", nil)
	r.Header.Set("Authorization", "Bearer "+parseCases[0].token)
	if _, err := Bearer(r); err != nil {
		t.Fatal(err)
	}
}
