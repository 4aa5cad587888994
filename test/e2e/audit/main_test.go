// Package audit holds end-to-end tests of `keyward audit` against the real
// test control plane. No cluster is started here: each group of tests
// starts the one it needs on first use and registers its stop in atExit.
package audit

import (
	"os"
	"testing"
)

// atExit runs after every test, in order: the test groups' cluster stops.
var atExit []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range atExit {
		f()
	}
	os.Exit(code)
}
