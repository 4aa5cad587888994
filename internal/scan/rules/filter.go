package rules

import (
	"math"
	"strings"
)

// Entropy is the Shannon entropy of s in bits per byte.
func Entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// knownExamples are credentials published in vendor documentation. They are
// everywhere in READMEs and tests and grant nothing.
var knownExamples = map[string]bool{
	"AKIAIOSFODNN7EXAMPLE":                     true,
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": true,
	"AKIAI44QH8DHBEXAMPLE":                     true,
	"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY": true,
	"sk_test_4eC39HqLyjWDarjtT1zdp7dc":         true,
	"pk_test_TYooMQauvdEDq54NiTphI7jx":         true,
	"sk_test_BQokikJOvBiI2HlWgH4olfQ2":         true,
	"ghp_16C7e42F292c6912E7710c838347Ae178B4a": true,
	"gho_16C7e42F292c6912E7710c838347Ae178B4a": true,
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c": true,
	"xoxb-not-a-real-token-this-will-not-work":                              true,
	"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": true,
	"AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe":                               true,
	// Digests of nothing, the hex that fills tests and defaults.
	"d41d8cd98f00b204e9800998ecf8427e":                                 true,
	"da39a3ee5e6b4b0d3255bfef95601890afd80709":                         true,
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": true,
}

// IsKnownExample reports whether s is a documented example credential.
func IsKnownExample(s string) bool { return knownExamples[s] }

// placeholderWords mark values written for humans to replace.
var placeholderWords = []string{
	"example", "xxxx", "****", "....", "…", "placeholder", "changeme", "change_me", "change-me",
	"changethis", "your_", "your-", "yourtoken", "yourkey", "yourpassword", "yoursecret", "dummy",
	"redacted", "replace_", "replace-", "replaceme", "insert_", "insert-", "notreal", "not_real",
	"not-real", "not-a-real", "sample", "todo", "fixme", "abcdefgh", "12345678", "password123",
	"secret123", "qwerty", "lorem", "ipsum", "foobar",
}

// IsPlaceholder reports values that stand in for a secret rather than being
// one: documentation words, masks, runs of one character, ascending runs, and
// templated or referenced values.
func IsPlaceholder(s string) bool {
	if IsTemplated(s) {
		return true
	}
	l := strings.ToLower(s)
	for _, w := range placeholderWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	run := 1
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			run++
			if run >= 6 {
				return true
			}
		} else {
			run = 1
		}
	}
	return false
}

// IsTemplated reports values filled in later by a template engine, a shell,
// a secret store or an encryption tool: never the secret itself.
func IsTemplated(s string) bool {
	for _, m := range []string{"${", "{{", "$(", "%(", "#{", "<%", "[[", "ENC[", "{cipher}", "vault:", "ref+", "op://", "sm://", "$ref", "arn:aws:secretsmanager", "arn:aws:ssm", "secretsmanager:", "keyvault", "akv://", "gcp:secretmanager"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	if s == "" {
		return false
	}
	switch s[0] {
	case '$', '<', '%', '@', '!', '&', '*':
		// $VAR, <your key>, %VAR%, @VAR@, YAML tags/anchors/aliases
		return true
	}
	return false
}

// IsUUID reports the 8-4-4-4-12 hex form: identifiers, not credentials.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

// IsHashLike reports digests as they appear in lockfiles, manifests and
// image references: hex of a hash's length, or an algorithm-prefixed value.
func IsHashLike(s string) bool {
	l := strings.ToLower(s)
	for _, p := range []string{"sha1:", "sha256:", "sha384:", "sha512:", "sha1-", "sha256-", "sha384-", "sha512-", "md5:", "h1:", "blake2b", "$2a$", "$2b$", "$2y$", "$argon2", "$6$", "$5$", "{ssha}", "{sha}"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	switch len(s) {
	case 32, 40, 56, 64, 96, 128:
		for i := 0; i < len(s); i++ {
			if !isHex(s[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
