package vault

import (
	"errors"
	"fmt"
	"strings"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// kvPaths builds request paths for one KV mount as ESO does, so that keys
// written for ESO read the same here.
type kvPaths struct {
	// mount is spec.path without slashes; "" when the store names none and
	// the key's first segment is the mount.
	mount string
	v2    bool
}

func newKV(spec *esv1.VaultProvider) (kvPaths, error) {
	k := kvPaths{v2: true}
	switch spec.Version {
	case "", "v2":
	case "v1":
		k.v2 = false
	default:
		return k, fmt.Errorf("%s.version: %q is neither v1 nor v2", field, spec.Version)
	}
	if spec.Path != nil {
		k.mount = strings.Trim(*spec.Path, "/")
	}
	return k, nil
}

// split returns the mount and the secret's path inside it. With a mount
// configured, a key that repeats it (and, for v2, "data/") is taken as a
// full path, as ESO does. Without one, a v2 key holding "/data/" is
// already a full path, and otherwise the first segment is the mount.
func (k kvPaths) split(key string) (mount, rest string, err error) {
	key = strings.Trim(key, "/")
	if key == "" {
		return "", "", errors.New("the key is empty")
	}
	if k.mount != "" {
		rest = key
		if r, ok := strings.CutPrefix(rest, k.mount+"/"); ok {
			rest = r
			if k.v2 {
				rest = strings.TrimPrefix(rest, "data/")
			}
		}
		return k.mount, rest, nil
	}
	if k.v2 {
		if m, r, ok := strings.Cut(key, "/data/"); ok {
			return m, r, nil
		}
	}
	m, r, ok := strings.Cut(key, "/")
	if !ok || r == "" {
		return "", "", fmt.Errorf("key %q: with no path (mount) set on the store, the key must be <mount>/<secret>", key)
	}
	return m, r, nil
}

// data is the path to read or write key's value.
func (k kvPaths) data(key string) (string, error) {
	m, r, err := k.split(key)
	if err != nil {
		return "", err
	}
	if k.v2 {
		return m + "/data/" + r, nil
	}
	return m + "/" + r, nil
}

// metadata is the KV v2 path of key's metadata.
func (k kvPaths) metadata(key string) (string, error) {
	if !k.v2 {
		return "", errors.New("KV v1 keeps no metadata; use KV v2")
	}
	m, r, err := k.split(key)
	if err != nil {
		return "", err
	}
	return m + "/metadata/" + r, nil
}

// list is the path to LIST for keys under prefix (relative to the mount).
func (k kvPaths) list(prefix string) (string, error) {
	if k.mount == "" {
		return "", errors.New("find needs the store's path (the KV mount) to be set")
	}
	p := k.mount
	if k.v2 {
		p += "/metadata"
	}
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		p += "/" + prefix
	}
	return p, nil
}
