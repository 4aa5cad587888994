package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keys"
)

const apiServer = "10.96.0.1:44123" // the peer every proxied request comes from

type call struct {
	path, peer string
	xff        []string // X-Forwarded-For header lines, nil for none
}

func (c call) do(t *testing.T, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", c.path, bytes.NewReader(body))
	req.RemoteAddr = c.peer
	for _, v := range c.xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The limits never refill within a test (one token per 1000 s), so the
// counts of admitted requests are exact.
func TestRateLimit(t *testing.T) {
	p := newPair(t)
	body := sealedBody(t, p)
	slow := Options{Keys: &fakeKeys{pairs: []*keys.Pair{p}}, RateLimit: 0.001, RateBurst: 2, PeerRateLimit: 0.001, PeerRateBurst: 6}
	tests := []struct {
		name  string
		opts  Options
		calls func(i int) call
		n     int
		want  int // requests admitted out of n
	}{
		{"one client through the proxy", slow, func(int) call {
			return call{"/v1/verify", apiServer, []string{"192.0.2.7"}}
		}, 5, 2},
		// The caller controls everything left of the proxy's entry.
		{"forged entries left of the proxy's", slow, func(i int) call {
			return call{"/v1/verify", apiServer, []string{fmt.Sprintf("198.51.100.%d, 192.0.2.7", i)}}
		}, 10, 2},
		{"forged earlier header lines", slow, func(i int) call {
			return call{"/v1/verify", apiServer, []string{fmt.Sprintf("198.51.100.%d", i), "192.0.2.7"}}
		}, 10, 2},
		// A Pod connecting directly can set the whole header: the per-peer
		// limit holds it however it varies the value.
		{"direct caller rotating forged addresses", slow, func(i int) call {
			return call{"/v1/verify", "10.244.1.5:5000", []string{fmt.Sprintf("203.0.113.%d", i)}}
		}, 40, 6},
		{"direct caller rotating garbage", slow, func(i int) call {
			return call{"/v1/verify", "10.244.1.5:5000", []string{fmt.Sprintf("x%d", i)}}
		}, 40, 2},
		{"direct caller rotating ports", slow, func(i int) call {
			return call{"/v1/verify", fmt.Sprintf("10.244.1.5:%d", 5000+i), nil}
		}, 10, 2},
		{"direct caller rotating within its IPv6 /64", slow, func(i int) call {
			return call{"/v1/verify", fmt.Sprintf("[2001:db8:1:2::%x]:5000", i+1), []string{fmt.Sprintf("203.0.113.%d", i)}}
		}, 40, 6},
		{"rotate is limited", slow, func(int) call {
			return call{"/v1/rotate", apiServer, []string{"192.0.2.7"}}
		}, 5, 2},
		{"limits off", Options{Keys: slow.Keys, RateLimit: -1, PeerRateLimit: -1}, func(i int) call {
			return call{"/v1/verify", apiServer, []string{"192.0.2.7"}}
		}, 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			admitted := 0
			for i := 0; i < tt.n; i++ {
				rec := tt.calls(i).do(t, h, body)
				switch rec.Code {
				case http.StatusOK:
					admitted++
				case http.StatusTooManyRequests:
					if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 {
						t.Fatalf("429 without a usable Retry-After: %q", rec.Header().Get("Retry-After"))
					}
				default:
					t.Fatalf("request %d: %d %s", i+1, rec.Code, rec.Body)
				}
			}
			if admitted != tt.want {
				t.Fatalf("admitted %d of %d, want %d", admitted, tt.n, tt.want)
			}
		})
	}
}

// Behind the proxy, clients are told apart by the entry the proxy appends,
// and one client's refused requests do not use up the budget of the others.
func TestRateLimitSeparatesProxiedClients(t *testing.T) {
	p := newPair(t)
	body := sealedBody(t, p)
	h, _ := New(Options{Keys: &fakeKeys{pairs: []*keys.Pair{p}}, RateLimit: 0.001, RateBurst: 2, PeerRateLimit: 0.001, PeerRateBurst: 4})
	alice := call{"/v1/verify", apiServer, []string{"10.0.0.9, 192.0.2.1"}}
	bob := call{"/v1/verify", apiServer, []string{"10.0.0.9, 192.0.2.2"}}
	steps := []struct {
		who  call
		want int
	}{
		{alice, 200}, {alice, 200}, {alice, 429}, {alice, 429}, {alice, 429},
		{bob, 200}, {bob, 200}, {bob, 429},
		// Both paths count against the peer: four admitted so far.
		{call{"/v1/rotate", apiServer, []string{"192.0.2.3"}}, 429},
	}
	for i, s := range steps {
		if got := s.who.do(t, h, body).Code; got != s.want {
			t.Fatalf("step %d (%v): %d, want %d", i+1, s.who.xff, got, s.want)
		}
	}
}

// The table stays bounded: once full of buckets still in use, a new key is
// refused rather than an old bucket forgotten (which would refill it).
func TestLimiterTableBounded(t *testing.T) {
	l := newClientLimiter(0.001, 1)
	now := time.Now()
	for i := 0; i < maxClients; i++ {
		if _, _, ok := l.take(fmt.Sprintf("k%d", i), now); !ok {
			t.Fatalf("key %d refused", i)
		}
	}
	if _, _, ok := l.take("k0", now); ok {
		t.Fatal("k0 was refilled")
	}
	if _, _, ok := l.take("new", now); ok {
		t.Fatal("a new key was admitted into a full table")
	}
	if len(l.clients) > maxClients {
		t.Fatalf("table grew to %d", len(l.clients))
	}
	// Once the buckets have refilled they are idle and make room.
	later := now.Add(l.refill() + time.Second)
	if _, _, ok := l.take("new", later); !ok {
		t.Fatal("new key refused after the table went idle")
	}
	if len(l.clients) != 1 {
		t.Fatalf("idle buckets kept: %d", len(l.clients))
	}
}

func TestForwardedClient(t *testing.T) {
	tests := []struct {
		lines []string
		want  string
	}{
		{nil, ""},
		{[]string{"192.0.2.1"}, "192.0.2.1"},
		{[]string{"a, b ,192.0.2.1 "}, "192.0.2.1"},
		{[]string{"192.0.2.9", "198.51.100.1, 192.0.2.1"}, "192.0.2.1"},
		{[]string{"[2001:db8::1]:80"}, "2001:db8::1"},
		{[]string{"::ffff:192.0.2.1"}, "192.0.2.1"},
		{[]string{"192.0.2.1, evil"}, "not-an-address"},
	}
	for _, tt := range tests {
		h := http.Header{}
		for _, v := range tt.lines {
			h.Add("X-Forwarded-For", v)
		}
		if got := forwardedClient(h); got != tt.want {
			t.Errorf("forwardedClient(%q) = %q, want %q", tt.lines, got, tt.want)
		}
	}
}
