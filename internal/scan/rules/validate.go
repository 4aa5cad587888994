package rules

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"hash/crc32"
	"slices"
	"strings"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Base62CRC32 encodes the CRC32 (IEEE) of body in base62, left-padded with
// zeros to six characters: the checksum GitHub and npm append to their tokens.
func Base62CRC32(body string) string {
	n := crc32.ChecksumIEEE([]byte(body))
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	return string(b[:])
}

// ValidBase62Checksum checks tokens shaped prefix + 30 random base62 + 6
// checksum characters (GitHub ghp_/gho_/ghu_/ghs_/ghr_, npm npm_). A random
// string passes with probability 1 in 62^6, so a failure means a made-up
// value such as documentation filler.
func ValidBase62Checksum(token string) bool {
	i := strings.IndexByte(token, '_')
	if i < 0 || len(token)-i-1 != 36 {
		return false
	}
	body := token[i+1:]
	return Base62CRC32(body[:30]) == body[30:]
}

// ValidBase64Len checks that s is standard base64 of exactly n bytes.
func ValidBase64Len(n int) func(string) bool {
	return func(s string) bool {
		b, err := base64.StdEncoding.DecodeString(s)
		return err == nil && len(b) == n
	}
}

// ValidJWT checks a JSON Web Token offline: a JSON header naming an
// algorithm, a JSON object payload and a signature as long as the
// algorithm's. Unsigned tokens (alg none), made-up signatures and the
// claims of documentation examples grant nothing and are rejected.
func ValidJWT(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 && len(parts) != 5 {
		return false
	}
	var hdr struct {
		Alg string `json:"alg"`
		Enc string `json:"enc"`
	}
	if !decodeJSONSegment(parts[0], &hdr) || (hdr.Alg == "" && hdr.Enc == "") {
		return false
	}
	if len(parts) == 5 { // JWE: the payload is encrypted
		return true
	}
	var payload map[string]any
	if !decodeJSONSegment(parts[1], &payload) || strings.EqualFold(hdr.Alg, "none") {
		return false
	}
	if lens, ok := jwtSignatureLen[hdr.Alg]; ok && !slices.Contains(lens, len(strings.TrimRight(parts[2], "="))) {
		return false
	}
	return !exampleClaims(payload)
}

// jwtSignatureLen is the base64url length of each algorithm's signature:
// HMAC and ECDSA have one size, RSA one per modulus (2048, 3072, 4096 bits).
var jwtSignatureLen = map[string][]int{
	"HS256": {43}, "HS384": {64}, "HS512": {86},
	"ES256": {86}, "ES384": {128}, "ES512": {176}, "EdDSA": {86},
	"RS256": {342, 512, 683}, "RS384": {342, 512, 683}, "RS512": {342, 512, 683},
	"PS256": {342, 512, 683}, "PS384": {342, 512, 683}, "PS512": {342, 512, 683},
}

// exampleClaims spots the claims of tokens written for documentation and
// tests: jwt.io's sample subject and name, and reserved example domains.
func exampleClaims(payload map[string]any) bool {
	for k, v := range payload {
		s, ok := v.(string)
		if !ok {
			continue
		}
		l := strings.ToLower(s)
		switch {
		case k == "sub" && s == "1234567890", k == "name" && s == "John Doe":
			return true
		case strings.HasSuffix(l, "@example.com"), strings.HasSuffix(l, "@example.org"), strings.HasSuffix(l, "@example.net"),
			strings.HasSuffix(l, ".example"), strings.HasSuffix(l, ".test"), strings.HasSuffix(l, ".invalid"):
			return true
		}
	}
	return false
}

func decodeJSONSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// ValidPrivateKey checks a PEM private key block offline: the body must
// decode (tolerating escaped newlines and string concatenation in code) to
// one complete DER structure or an OpenSSH key, which rules out truncated
// documentation snippets like "MIIEpAIBAAKCAQEA...".
func ValidPrivateKey(block string) bool {
	// The body starts after the BEGIN line's closing dashes.
	start := strings.Index(block[min(len(block), 10):], "-----")
	if start < 0 {
		return false
	}
	body := block[10+start+5:]
	if i := strings.LastIndex(body, "-----END"); i >= 0 {
		body = body[:i]
	}
	if strings.Contains(body, "...") || strings.Contains(body, "…") {
		return false
	}
	if strings.Contains(block, "PGP PRIVATE KEY BLOCK") {
		return len(body) > 200
	}
	// Encrypted legacy PEM keys carry headers; the body after the blank line is ciphertext.
	if strings.Contains(body, "Proc-Type:") {
		return len(body) > 200
	}
	body = strings.NewReplacer(`\r`, "", `\n`, "", `\\n`, "").Replace(body)
	var clean bytes.Buffer
	for i := 0; i < len(body); i++ {
		c := body[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
			clean.WriteByte(c)
		}
	}
	raw, err := base64.RawStdEncoding.DecodeString(clean.String())
	if err != nil || len(raw) < 32 {
		return false
	}
	if bytes.HasPrefix(raw, []byte("openssh-key-v1\x00")) {
		return true
	}
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(raw, &v)
	return err == nil && len(rest) == 0 && v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence
}

// ValidBasicAuth checks a Docker config "auth" value: base64 of user:password
// with both parts present and the password not a placeholder.
func ValidBasicAuth(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return false
	}
	user, pass, ok := strings.Cut(string(b), ":")
	return ok && user != "" && len(pass) >= 3 && !IsPlaceholder(pass) && notTrivialPassword(pass) &&
		!strings.Contains(strings.ToLower(pass), "password")
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// ValidBech32 verifies the checksum of a bech32 string such as an age secret
// key (AGE-SECRET-KEY-1...).
func ValidBech32(s string) bool {
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || sep+7 > len(s) {
		return false
	}
	hrp, data := s[:sep], s[sep+1:]
	values := make([]int, 0, len(hrp)*2+1+len(data))
	for i := 0; i < len(hrp); i++ {
		values = append(values, int(hrp[i])>>5)
	}
	values = append(values, 0)
	for i := 0; i < len(hrp); i++ {
		values = append(values, int(hrp[i])&31)
	}
	for i := 0; i < len(data); i++ {
		d := strings.IndexByte(bech32Charset, data[i])
		if d < 0 {
			return false
		}
		values = append(values, d)
	}
	gen := [5]int{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := 1
	for _, v := range values {
		b := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ v
		for i := 0; i < 5; i++ {
			if (b>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk == 1
}

// ValidAWSKeyID checks the character set of an AWS access key id (base32
// after the four-letter prefix).
func ValidAWSKeyID(s string) bool {
	for i := 4; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
