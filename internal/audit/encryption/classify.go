// Package encryption is the `keyward audit encryption` check: it reads what
// etcd really holds for each Secret and says whether it is encrypted, by
// which provider and key, and lints the API server's EncryptionConfiguration.
//
// Only the stored value's envelope prefix is ever looked at; the rest of the
// value is dropped as soon as it is classified, and nothing derived from it
// reaches a record, finding or error.
package encryption

import (
	"bytes"
	"strings"
)

// Providers as records name them. kms v1 and v2 are told apart because v1 is
// deprecated and its stored objects must be rewritten before it goes.
const (
	Identity  = "identity"
	AESCBC    = "aescbc"
	AESGCM    = "aesgcm"
	Secretbox = "secretbox"
	KMSv1     = "kms"
	KMSv2     = "kmsv2"
	// Unknown is a value that is neither a plaintext object nor an envelope
	// the API server writes.
	Unknown = "unknown"
)

// State is how one value is stored.
type State struct {
	Encrypted bool
	// Provider is one of the constants above.
	Provider string
	// Key is the key's name in the EncryptionConfiguration (for kms, the
	// provider's name); empty for identity.
	Key string
}

const envelope = "k8s:enc:"

// protobufMagic starts every object the API server stores as protobuf.
var protobufMagic = []byte("k8s\x00")

// maxKeyName bounds the name read from an envelope: a longer one is not one
// the API server wrote.
const maxKeyName = 250

// Classify reads the envelope of a value as etcd stores it:
//
//	k8s:enc:aescbc:v1:NAME:…     aescbc, aesgcm, secretbox
//	k8s:enc:kms:v1:NAME:…        KMS v1 (NAME is the kms provider's name)
//	k8s:enc:kms:v2:NAME:…        KMS v2
//	k8s\x00…  or  {…             plaintext protobuf or JSON (identity)
func Classify(value []byte) State {
	switch {
	case bytes.HasPrefix(value, protobufMagic):
		return State{Provider: Identity}
	case len(bytes.TrimLeft(value, " \t\r\n")) > 0 && bytes.TrimLeft(value, " \t\r\n")[0] == '{':
		return State{Provider: Identity}
	case !bytes.HasPrefix(value, []byte(envelope)):
		return State{Provider: Unknown}
	}
	// Only the envelope's own fields are turned into text: at most the
	// provider, version and name, never the ciphertext after them.
	rest := value[len(envelope):]
	if len(rest) > 64+maxKeyName {
		rest = rest[:64+maxKeyName]
	}
	parts := strings.SplitN(string(rest), ":", 4)
	if len(parts) < 4 || !validName(parts[2]) {
		return State{Provider: Unknown}
	}
	kind, version, name := parts[0], parts[1], parts[2]
	switch {
	case version == "v1" && (kind == AESCBC || kind == AESGCM || kind == Secretbox):
		return State{Encrypted: true, Provider: kind, Key: name}
	case kind == "kms" && version == "v1":
		return State{Encrypted: true, Provider: KMSv1, Key: name}
	case kind == "kms" && version == "v2":
		return State{Encrypted: true, Provider: KMSv2, Key: name}
	}
	return State{Provider: Unknown}
}

// validName accepts the names the API server allows for keys and kms
// providers: printable, no spaces, not empty.
func validName(s string) bool {
	if s == "" || len(s) > maxKeyName {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}
