package generator

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"

	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
	"github.com/keyward/keyward/internal/specerr"
)

// The defaults of ESO's Password generator.
const (
	defaultLength  = 24
	defaultSymbols = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./"
	lowerLetters   = "abcdefghijklmnopqrstuvwxyz"
	upperLetters   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digitChars     = "0123456789"
)

// Password makes one password per key of spec.secretKeys ("password"
// when unset), each drawn on its own and encoded as spec.encoding says.
// Errors name the fields, never a character drawn.
func Password(spec genv1alpha1.PasswordSpec, rnd io.Reader) (map[string][]byte, error) {
	keys := spec.SecretKeys
	if len(keys) == 0 {
		keys = []string{"password"}
	}
	encode, err := encoder(spec.Encoding)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	for i, k := range keys {
		if k == "" {
			return nil, specerr.New("spec.secretKeys[%d]: empty", i)
		}
		if _, dup := out[k]; dup {
			return nil, specerr.New("spec.secretKeys[%d]: %q is given twice", i, k)
		}
		p, err := password(spec, rnd)
		if err != nil {
			return nil, err
		}
		out[k] = encode(p)
	}
	return out, nil
}

func encoder(enc *string) (func([]byte) []byte, error) {
	str := func(f func([]byte) string) func([]byte) []byte { return func(b []byte) []byte { return []byte(f(b)) } }
	if enc == nil {
		return func(b []byte) []byte { return b }, nil
	}
	switch *enc {
	case "", "raw":
		return func(b []byte) []byte { return b }, nil
	case "base64":
		return str(base64.StdEncoding.EncodeToString), nil
	case "base64url":
		return str(base64.URLEncoding.EncodeToString), nil
	case "base32":
		return str(base32.StdEncoding.EncodeToString), nil
	case "hex":
		return str(hex.EncodeToString), nil
	}
	return nil, specerr.New("spec.encoding: %q is none of raw, base64, base64url, base32 and hex", *enc)
}

// password draws spec.length characters (24 when unset): spec.digits
// digits and spec.symbols symbols (a quarter of the length each when
// unset), the rest letters, shuffled. Without allowRepeat no character
// appears twice, so each class must have enough distinct characters.
func password(spec genv1alpha1.PasswordSpec, rnd io.Reader) ([]byte, error) {
	length := spec.Length
	if length < 0 {
		return nil, specerr.New("spec.length: %d is negative", length)
	}
	if length == 0 {
		length = defaultLength
	}
	digits, symbols := length/4, length/4
	if spec.Digits != nil {
		digits = *spec.Digits
	}
	if spec.Symbols != nil {
		symbols = *spec.Symbols
	}
	if digits < 0 || symbols < 0 {
		return nil, specerr.New("spec.digits and spec.symbols must not be negative")
	}
	if digits+symbols > length {
		return nil, specerr.New("spec.digits + spec.symbols (%d) exceed spec.length (%d)", digits+symbols, length)
	}
	symbolSet := defaultSymbols
	if spec.SymbolCharacters != nil {
		symbolSet = *spec.SymbolCharacters
	}
	letterSet := lowerLetters
	if !spec.NoUpper {
		letterSet += upperLetters
	}
	letters := length - digits - symbols

	used := map[rune]bool{}
	var out []rune
	for _, class := range []struct {
		field string
		set   string
		n     int
	}{
		{"spec.digits", digitChars, digits},
		{"spec.symbols", symbolSet, symbols},
		{"spec.length (letters)", letterSet, letters},
	} {
		if class.n == 0 {
			continue
		}
		pool := distinct(class.set, used, !spec.AllowRepeat)
		if len(pool) == 0 {
			return nil, specerr.New("%s: %d characters asked for but there are none to pick from", class.field, class.n)
		}
		if !spec.AllowRepeat && class.n > len(pool) {
			return nil, specerr.New("%s: %d characters asked for but only %d distinct ones are available; set spec.allowRepeat or ask for fewer", class.field, class.n, len(pool))
		}
		for range class.n {
			i, err := randInt(rnd, len(pool))
			if err != nil {
				return nil, err
			}
			c := pool[i]
			out = append(out, c)
			if !spec.AllowRepeat {
				used[c] = true
				pool = append(pool[:i], pool[i+1:]...)
			}
		}
	}
	// Fisher-Yates, so the classes are not in blocks.
	for i := len(out) - 1; i > 0; i-- {
		j, err := randInt(rnd, i+1)
		if err != nil {
			return nil, err
		}
		out[i], out[j] = out[j], out[i]
	}
	return []byte(string(out)), nil
}

// distinct returns the characters of set once each, without those used
// when repeats are not allowed.
func distinct(set string, used map[rune]bool, noRepeat bool) []rune {
	seen := map[rune]bool{}
	var out []rune
	for _, c := range set {
		if seen[c] || (noRepeat && used[c]) {
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	return out
}

func randInt(rnd io.Reader, n int) (int, error) {
	v, err := rand.Int(rnd, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("reading random bytes: %w", err)
	}
	return int(v.Int64()), nil
}
