package rewrite

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// CheckNullBytes refuses a value holding a NUL byte under nullBytePolicy Fail.
func CheckNullBytes(policy esv1.ExternalSecretNullBytePolicy, v []byte) error {
	if policy == esv1.NullBytePolicyFail && bytes.IndexByte(v, 0) >= 0 {
		return errors.New("the value holds a NUL byte and nullBytePolicy is Fail")
	}
	return nil
}

// Decode applies decodingStrategy. Errors never quote the value.
func Decode(strategy esv1.ExternalSecretDecodingStrategy, v []byte) ([]byte, error) {
	switch strategy {
	case "", esv1.DecodingStrategyNone:
		return v, nil
	case esv1.DecodingStrategyBase64:
		d, err := base64.StdEncoding.DecodeString(string(v))
		if err != nil {
			return nil, errors.New("decodingStrategy Base64: the value is not base64")
		}
		return d, nil
	case esv1.DecodingStrategyBase64URL:
		d, err := base64.URLEncoding.DecodeString(string(v))
		if err != nil {
			return nil, errors.New("decodingStrategy Base64URL: the value is not base64url")
		}
		return d, nil
	case esv1.DecodingStrategyAuto:
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(string(v)); err == nil {
				return d, nil
			}
		}
		return v, nil
	}
	return nil, fmt.Errorf("decodingStrategy %q is unknown", strategy)
}
