// Package testnet gives tests a second host on this machine: a network
// namespace joined to the root namespace by a veth pair, with addresses from
// the benchmarking range 198.18.0.0/15 (RFC 2544), so nothing it carries
// can leave the machine. The Kubernetes API server refuses loopback
// addresses in Services' endpoints; a listener on the test host is what lets
// its service proxy reach a server that a test runs.
//
// It needs root (CAP_NET_ADMIN) and iproute2's `ip`. Tests fail, never skip,
// without them.
package testnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Host is a network namespace reachable from the root namespace.
type Host struct {
	// Name of the namespace (usable with `ip netns exec`).
	Name string
	// IP of the host inside the namespace.
	IP net.IP
	// RootIP is the root namespace's end of the link (IP-1): a server
	// listening there is reachable from inside the namespace.
	RootIP net.IP
	veth   string
	routes []string
}

// New creates a host. The index picks the /30 it uses (and so its name), so
// test packages running at once must pass different indexes; the process ID
// is a good one.
func New(index int) (*Host, error) {
	n := index % (1 << 14) // 2^14 /30 blocks in 198.18.0.0/16
	base := net.IPv4(198, 18, byte(n>>6), byte(n&63)<<2)
	rootIP := net.IPv4(base[12], base[13], base[14], base[15]+1)
	hostIP := net.IPv4(base[12], base[13], base[14], base[15]+2)
	h := &Host{Name: fmt.Sprintf("keyward-%d", n), IP: hostIP.To4(), RootIP: rootIP.To4(), veth: fmt.Sprintf("kw%d", n)}
	peer := h.veth + "p"

	// A namespace left by a killed run would make `ip netns add` fail.
	h.Close()
	steps := [][]string{
		{"netns", "add", h.Name},
		{"link", "add", h.veth, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", h.Name},
		{"addr", "add", rootIP.String() + "/30", "dev", h.veth},
		{"link", "set", h.veth, "up"},
		{"-n", h.Name, "addr", "add", hostIP.String() + "/30", "dev", peer},
		{"-n", h.Name, "link", "set", peer, "up"},
		{"-n", h.Name, "link", "set", "lo", "up"},
	}
	for _, args := range steps {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			h.Close()
			return nil, fmt.Errorf("testnet: ip %s: %v: %s (needs root and iproute2)", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return h, nil
}

// Listen opens a TCP listener inside the namespace, on the host's IP. The
// socket stays in the namespace; the rest of the process can accept on it.
func (h *Host) Listen(port int) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread enters the namespace and never leaves: a goroutine
		// that ends while locked takes its thread with it, so no other
		// goroutine ever runs in the namespace by accident.
		runtime.LockOSThread()
		ln, err := h.listenHere(port)
		ch <- result{ln, err}
	}()
	r := <-ch
	return r.ln, r.err
}

func (h *Host) listenHere(port int) (net.Listener, error) {
	f, err := os.Open("/run/netns/" + h.Name)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("testnet: entering namespace %s: %w", h.Name, err)
	}
	return net.Listen("tcp", net.JoinHostPort(h.IP.String(), fmt.Sprint(port)))
}

// Route sends the root namespace's traffic for cidr (a network that lives
// behind the host, such as a node's Pods) through the host. Close removes it.
func (h *Host) Route(cidr string) error {
	if out, err := exec.Command("ip", "route", "replace", cidr, "via", h.IP.String(), "dev", h.veth).CombinedOutput(); err != nil {
		return fmt.Errorf("testnet: ip route replace %s via %s: %v: %s", cidr, h.IP, err, strings.TrimSpace(string(out)))
	}
	h.routes = append(h.routes, cidr)
	return nil
}

// Close removes the namespace, the veth pair and the routes through it.
func (h *Host) Close() error {
	var errs []error
	for _, cidr := range h.routes {
		// Deleting the veth drops its routes too; this is for a pair that
		// outlives the call (it never should).
		exec.Command("ip", "route", "del", cidr, "via", h.IP.String()).Run()
	}
	h.routes = nil
	if out, err := exec.Command("ip", "link", "del", h.veth).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
		errs = append(errs, fmt.Errorf("ip link del %s: %s", h.veth, out))
	}
	if out, err := exec.Command("ip", "netns", "del", h.Name).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
		errs = append(errs, fmt.Errorf("ip netns del %s: %s", h.Name, out))
	}
	return errors.Join(errs...)
}

// Forward accepts connections on ln and relays each to target (an address
// in the root namespace, such as a server on 127.0.0.1), until ln is closed.
// With a listener from Listen, it makes a loopback server reachable at the
// test host's IP.
func Forward(ln net.Listener, target string) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			out, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer out.Close()
			done := make(chan struct{}, 2)
			relay := func(dst, src net.Conn) {
				io.Copy(dst, src)
				if tcp, ok := dst.(*net.TCPConn); ok {
					tcp.CloseWrite()
				}
				done <- struct{}{}
			}
			go relay(out, in)
			go relay(in, out)
			<-done
			<-done
		}()
	}
}
