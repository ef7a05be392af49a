package fortics

import (
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ttlCache is a bounded map whose entries all live for the same time, so
// insertion order is expiry order: a ring of keys evicts the oldest first.
type ttlCache[V any] struct {
	mu   sync.Mutex
	ttl  time.Duration
	max  int
	m    map[string]cacheEntry[V]
	ring []string // insertion order; ring[head] is the oldest
	head int
	n    int
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
	seq     int // position in the ring, to tell a re-put key from its old slot
}

func newTTLCache[V any](ttl time.Duration, size int) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: size, m: make(map[string]cacheEntry[V], min(size, 1024)), ring: make([]string, size)}
}

func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || now.After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(key string, v V, now time.Time) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == c.max { // full: drop the oldest slot
		old := c.ring[c.head]
		if e, ok := c.m[old]; ok && e.seq == c.head {
			delete(c.m, old)
		}
		c.head = (c.head + 1) % c.max
		c.n--
	}
	pos := (c.head + c.n) % c.max
	c.ring[pos] = key
	c.n++
	c.m[key] = cacheEntry[V]{v: v, expires: now.Add(c.ttl), seq: pos}
}

// len returns the number of stored keys (expired ones included until
// their slot is reused).
func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// coordKey rounds coordinates to prec decimals: the cache and singleflight
// key.
func coordKey(lat, lng float64, prec int) string {
	p := math.Pow10(prec)
	b := make([]byte, 0, 32)
	b = strconv.AppendFloat(b, math.Round(lat*p)/p, 'f', prec, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, math.Round(lng*p)/p, 'f', prec, 64)
	return string(b)
}

// limiters is a bounded set of per-client rate limiters. When full, idle
// clients are evicted first, then arbitrary ones.
type limiters struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	max   int
	m     map[netip.Addr]*clientLimiter
}

type clientLimiter struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(perSec float64, burst, max int) *limiters {
	return &limiters{r: rate.Limit(perSec), burst: burst, max: max, m: make(map[netip.Addr]*clientLimiter)}
}

// allow reports whether client may ask now.
func (l *limiters) allow(client netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.m[client]
	if !ok {
		if len(l.m) >= l.max {
			l.evict(now)
		}
		c = &clientLimiter{lim: rate.NewLimiter(l.r, l.burst)}
		l.m[client] = c
	}
	c.seen = now
	return c.lim.AllowN(now, 1)
}

// evict removes clients idle long enough for their bucket to be full again;
// if none, a tenth of the clients (arbitrary ones: map order).
func (l *limiters) evict(now time.Time) {
	refill := time.Duration(float64(l.burst) / float64(l.r) * float64(time.Second))
	for k, c := range l.m {
		if now.Sub(c.seen) > refill {
			delete(l.m, k)
		}
	}
	if len(l.m) < l.max {
		return
	}
	drop := max(1, l.max/10)
	for k := range l.m {
		if drop == 0 {
			break
		}
		delete(l.m, k)
		drop--
	}
}

func (l *limiters) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
