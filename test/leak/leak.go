// Package leak finds a planted secret value in what a test collected
// (errors, logs, replies), in every form an encoder or a template function
// could have turned it into on the way out.
package leak

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// Form is one way a value can be written: its name, for failure messages,
// and its text.
type Form struct {
	Name, Text string
}

// Forms returns the forms value is looked for in, in a fixed order: as it
// is, upper-cased, in the four base64 alphabets, and in hex of either case.
func Forms(value string) []Form {
	v := []byte(value)
	return []Form{
		{"plain", value},
		{"upper-cased", strings.ToUpper(value)},
		{"base64 std", base64.StdEncoding.EncodeToString(v)},
		{"base64 url", base64.URLEncoding.EncodeToString(v)},
		{"base64 raw std", base64.RawStdEncoding.EncodeToString(v)},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(v)},
		{"hex lower", hex.EncodeToString(v)},
		{"hex upper", strings.ToUpper(hex.EncodeToString(v))},
	}
}

// In returns the forms of value that text holds.
func In(text, value string) []Form {
	var found []Form
	for _, f := range Forms(value) {
		if strings.Contains(text, f.Text) {
			found = append(found, f)
		}
	}
	return found
}

// CheckError fails t for every form of value that the error text msg holds.
func CheckError(t testing.TB, msg, value string) {
	t.Helper()
	for _, f := range In(msg, value) {
		t.Errorf("error carries the value as %q: %s", f.Text, msg)
	}
}
