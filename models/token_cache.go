package models

import (
	"sync"
	"time"
)

// tokenCacheFor is how long an API token read from the database is trusted without reading it
// again: a token revoked on another node, or whose owner lost a role there, stops working
// within it. Revocations and role changes made through this store clear the cache at once.
// Reading the token and its owner was two queries of every API request, a third of the time
// of a one-job POST on SQLite.
const tokenCacheFor = time.Second

// maxCachedTokens bounds the cache: past it, it starts again empty.
const maxCachedTokens = 10_000

// tokenCache holds the tokens recently accepted, by the hash of their value. gen counts the
// clears: a token read from the database before a clear is not kept after it (a revocation
// here must not be undone by a read that raced it).
type tokenCache struct {
	mu   sync.Mutex
	byID map[string]cachedToken
	gen  uint64
}

type cachedToken struct {
	token APIToken
	read  time.Time
}

func newTokenCache() *tokenCache { return &tokenCache{byID: map[string]cachedToken{}} }

// get returns a copy of the token with this hash if it was read within tokenCacheFor of now.
func (c *tokenCache) get(hash string, now time.Time) (*APIToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[hash]
	if !ok || now.Sub(e.read) >= tokenCacheFor || now.Before(e.read) {
		return nil, false
	}
	t := e.token
	return &t, true
}

// generation is what put is given back: the count of clears before a read.
func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps a copy of t, read at read, unless the cache was cleared since generation gen.
func (c *tokenCache) put(hash string, t *APIToken, read time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.byID) >= maxCachedTokens {
		clear(c.byID)
	}
	c.byID[hash] = cachedToken{token: *t, read: read}
}

// clear forgets every token: one was revoked, or a user's role changed.
func (c *tokenCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byID)
	c.gen++
}
