package azurefake

import (
	"net/http"
	"strings"
	"testing"
)

// TestPublishedShapes checks the stand-in answers as the Key Vault REST
// reference documents: the bearer challenge, name rules, api-version and
// page-size limits, and 404 SecretNotFound.
func TestPublishedShapes(t *testing.T) {
	s, err := Start("tenant")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.Transport()
	tok := s.issue()
	for _, tc := range []struct {
		name, path string
		auth       bool
		want       int
		header     string
	}{
		{"challenge", "/secrets/db?api-version=7.6", false, http.StatusUnauthorized, `Bearer authorization="https://login.microsoftonline.com/tenant", resource="https://vault.azure.net"`},
		{"no api-version", "/secrets/db", true, http.StatusBadRequest, ""},
		{"name with underscore", "/secrets/bad_name?api-version=7.6", true, http.StatusBadRequest, ""},
		{"missing secret", "/secrets/absent?api-version=7.6", true, http.StatusNotFound, ""},
		{"page over 25", "/secrets?api-version=7.6&maxresults=26", true, http.StatusBadRequest, ""},
		{"list", "/secrets?api-version=7.6", true, http.StatusOK, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, "https://v.vault.azure.net"+tc.path, nil)
		if tc.auth {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.header != "" && !strings.EqualFold(resp.Header.Get("WWW-Authenticate"), tc.header)) {
			t.Errorf("%s: HTTP %d %q", tc.name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
}
