package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxClients bounds each limiter table, so no stream of new client keys
// can grow it without end.
const maxClients = 10000

// clientLimiter keeps one token bucket per key.
type clientLimiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*clientBucket
}

type clientBucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

func newClientLimiter(perSecond float64, burst int) *clientLimiter {
	return &clientLimiter{limit: rate.Limit(perSecond), burst: burst, clients: map[string]*clientBucket{}}
}

// take spends one token of key's bucket. When the bucket is empty it returns
// ok false and how long until a token is back. On success, undo returns the
// token, for a request a later limit turns away.
func (l *clientLimiter) take(key string, now time.Time) (undo func(), retry time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, found := l.clients[key]
	if !found {
		if len(l.clients) >= maxClients {
			l.evictIdle(now)
		}
		if len(l.clients) >= maxClients {
			// Every bucket is in use: forgetting one would hand its owner a
			// fresh burst, so the newcomer waits until one goes idle.
			return nil, l.refill(), false
		}
		b = &clientBucket{limiter: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = b
	}
	b.seen = now
	res := b.limiter.ReserveN(now, 1)
	if !res.OK() {
		return nil, l.refill(), false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return nil, d, false
	}
	return func() { res.CancelAt(now) }, 0, true
}

// refill is how long an unused bucket takes to fill up again.
func (l *clientLimiter) refill() time.Duration {
	return time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
}

// evictIdle drops buckets idle long enough to have refilled: a new bucket for
// the same key starts just as full, so forgetting them changes nothing.
func (l *clientLimiter) evictIdle(now time.Time) {
	full := l.refill()
	for k, b := range l.clients {
		if now.Sub(b.seen) > full {
			delete(l.clients, k)
		}
	}
}

// limits holds the two limits a rate-limited request must pass: one per
// client, and one per connecting peer over all the clients it speaks for.
type limits struct {
	client *clientLimiter
	peer   *clientLimiter
}

// allow spends a token of the peer's bucket, then one of the client's. The
// peer goes first so that a caller inventing client keys gets no new bucket
// once its peer is out of tokens; a request the client limit refuses gives
// the peer's token back, so one noisy client behind the API server does not
// drain the budget the others share.
func (l *limits) allow(path string, r *http.Request, now time.Time) (retry time.Duration, ok bool) {
	peer := peerKey(r.RemoteAddr)
	var undoPeer func()
	if l.peer != nil {
		undo, retry, ok := l.peer.take(peer, now)
		if !ok {
			return retry, false
		}
		undoPeer = undo
	}
	if l.client != nil {
		if _, retry, ok := l.client.take(path+"|"+peer+"|"+forwardedClient(r.Header), now); !ok {
			if undoPeer != nil {
				undoPeer()
			}
			return retry, false
		}
	}
	return 0, true
}

// retryAfter renders a wait as whole seconds for the Retry-After header.
func retryAfter(d time.Duration) string {
	s := math.Ceil(d.Seconds())
	if s < 1 {
		s = 1
	}
	return strconv.FormatFloat(s, 'f', 0, 64)
}

// peerKey names the connection's peer: its IP, or for IPv6 its /64, since one
// host commonly holds a whole /64 and could otherwise rotate addresses.
func peerKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "unparsed:" + truncate(host, 64)
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// forwardedClient is the rightmost X-Forwarded-For entry: the API server's
// service proxy appends the address it accepted the request from, so that
// entry is the real client when the peer is the API server. Anything to its
// left is the caller's own claim and is ignored. A value that is not an IP
// address (a direct caller can send anything) collapses into one key, so
// such values cannot mint buckets.
func forwardedClient(h http.Header) string {
	values := h.Values("X-Forwarded-For")
	if len(values) == 0 {
		return ""
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	last = strings.TrimSpace(last)
	if addr, err := netip.ParseAddr(last); err == nil {
		return addr.Unmap().String()
	}
	if ap, err := netip.ParseAddrPort(last); err == nil {
		return ap.Addr().Unmap().String()
	}
	return "not-an-address"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
