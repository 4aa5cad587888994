package payments

import (
	"net/http"
	"os"
)

// Config holds the client settings.
type Config struct {
	APIKey   string `json:"apiKey"`
	Password string `json:"password"`
	Token    string `yaml:"token"`
}

const defaultAPIToken = "JgMSYMvjBNwb7bqhITzq2kro37xJor2b"

var ghToken = "ghs_uhms8EabXVD2Dtl2XZhrfNzlqkqucD3VXjgm"

func newRequest(r *http.Request) string {
	password := os.Getenv("PAYMENTS_PASSWORD")
	token := r.Header.Get("Authorization")
	secretName := "payments-credentials"
	_ = secretName
	return password + token
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
const clientID = "123e4567-e89b-12d3-a456-426614174000"

var tokenKey = "access_token"
var passwordField = "password"
