package reuse

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the HMAC key's length in bytes.
const KeySize = 32

// DefaultKeyPath is where the key is kept: $XDG_CONFIG_HOME/keyward/audit.key,
// else ~/.config/keyward/audit.key.
func DefaultKeyPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "keyward", "audit.key"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set: give the HMAC key file with --hmac-key")
	}
	return filepath.Join(home, ".config", "keyward", "audit.key"), nil
}

// LoadOrCreateKey reads the key at path, or makes one there (mode 0600, its
// folder 0700) when there is none. A key file others can read, or of the
// wrong size, is refused.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("HMAC key %s: %w", path, err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("HMAC key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKey(path) // made meanwhile by another run
	}
	if err != nil {
		return nil, fmt.Errorf("HMAC key %s: %w", path, err)
	}
	_, werr := f.Write(key)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("HMAC key %s: writing: %w", path, werr)
	}
	return key, nil
}

func readKey(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("HMAC key %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("HMAC key %s: mode %04o lets others read it; chmod 600 it", path, st.Mode().Perm())
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("HMAC key %s: %w", path, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("HMAC key %s: holds %d bytes, want %d", path, len(key), KeySize)
	}
	return key, nil
}
