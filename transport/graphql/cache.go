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
}

// lru is a bounded least-recently-used map, safe for concurrent use. Cached
// documents are shared by concurrent executions, which only read them.
type lru struct {
	mu    sync.Mutex
	size  int
	order *list.List // front is most recently used; values are *lruItem
	items map[string]*list.Element
}

type lruItem struct {
	key   string
	entry cacheEntry
}

func newLRU(size int) *lru {
	return &lru{size: size, order: list.New(), items: make(map[string]*list.Element, size)}
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

// add stores entry under key, evicting the least recently used entry when full.
func (c *lru) add(key string, entry cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruItem).entry = entry
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruItem{key: key, entry: entry})
	if c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruItem).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
