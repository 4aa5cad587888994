package proc

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback address nothing listens on right now, for a
// child server's listen flags.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
