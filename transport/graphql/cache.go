package gql

import (
	"container/list"
	"sync"

	"github.com/graphql-go/graphql/language/ast"
)

// cacheEntry is a valid document and its query text, keyed by hashQuery of
// the text. The text lets APQ requests that send only the hash run it.
type cacheEntry struct {
	query string
	doc   *ast.Document
	// cost estimates the memory the entry holds, in bytes (documentCost).
	cost int
}

// documentCost estimates the memory a parsed document of query holds, in
// bytes: its text (kept twice: the request's and the AST's source) plus its
// AST, measured (TestDocumentCacheIsBoundedInBytes) at ~3 bytes per byte of
// a large string and ~230 bytes per token; it errs high.
func documentCost(query string, tokens int) int {
	return 4*len(query) + 250*tokens + 1024
}

// lru is a least-recently-used map bounded by entries and by the total cost
// of its entries, safe for concurrent use. Cached documents are shared by
// concurrent executions, which only read them.
type lru struct {
	mu       sync.Mutex
	size     int        // most entries
	maxBytes int        // most total cost
	bytes    int        // total cost held
	order    *list.List // front is most recently used; values are *lruItem
	items    map[string]*list.Element
}

type lruItem struct {
	key   string
	entry cacheEntry
}

func newLRU(size, maxBytes int) *lru {
	return &lru{size: size, maxBytes: maxBytes, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the entry under key and marks it most recently used.
func (c *lru) get(key string) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return cacheEntry{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruItem).entry, true
}

// add stores entry under key, evicting least recently used entries while
// the cache holds more than its entries or bytes. An entry costlier than the
// whole cache is not stored.
func (c *lru) add(key string, entry cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if entry.cost > c.maxBytes {
		return
	}
	if el, ok := c.items[key]; ok {
		item := el.Value.(*lruItem)
		c.bytes += entry.cost - item.entry.cost
		item.entry = entry
		c.order.MoveToFront(el)
	} else {
		c.items[key] = c.order.PushFront(&lruItem{key: key, entry: entry})
		c.bytes += entry.cost
	}
	for c.order.Len() > c.size || c.bytes > c.maxBytes {
		oldest := c.order.Back()
		item := oldest.Value.(*lruItem)
		c.order.Remove(oldest)
		delete(c.items, item.key)
		c.bytes -= item.entry.cost
	}
}

// held returns the number of entries and their total cost.
func (c *lru) held() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
