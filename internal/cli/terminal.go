package cli

import "os"

// isTerminal reports whether w is an interactive terminal (and not in CI).
func isTerminal(w any, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || getenv("CI") != "" || getenv("TERM") == "dumb" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
