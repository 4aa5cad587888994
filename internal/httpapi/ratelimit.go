package httpapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxClients bounds the limiter table, so a flood of forged
// X-Forwarded-For values cannot grow it without end.
const maxClients = 10000

// clientLimiter keeps one token bucket per client key.
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

func (l *clientLimiter) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= maxClients {
			l.evictIdle(now)
		}
		b = &clientBucket{limiter: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = b
	}
	b.seen = now
	return b.limiter.AllowN(now, 1)
}

// evictIdle drops buckets that have refilled (idle long enough to be full),
// or every bucket if none has: forgetting a client only ever lets it in.
func (l *clientLimiter) evictIdle(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	for k, b := range l.clients {
		if now.Sub(b.seen) > full {
			delete(l.clients, k)
		}
	}
	if len(l.clients) >= maxClients {
		clear(l.clients)
	}
}
