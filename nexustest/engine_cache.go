package nexustest

import "hash/maphash"

// The prompt-prefix cache. A prompt is a byte string; every 4 bytes is one
// token and every EngineBlockTokens tokens one block. Block i is identified
// by a hash chained from the hash of block i-1 (the first from the model
// name) and the bytes of block i: equal hashes mean equal prefixes, so a
// lookup walks the blocks in order and stops at the first miss.

const (
	engineTokenBytes = 4
	engineBlockBytes = EngineBlockTokens * engineTokenBytes
)

// engineTokens is the estimated token count of a prompt of n bytes: n/4
// rounded up, at least 1.
func engineTokens(n int) int { return max((n+engineTokenBytes-1)/engineTokenBytes, 1) }

// engineBlocks is the number of blocks needed to hold n tokens.
func engineBlocks(n int) int { return (n + EngineBlockTokens - 1) / EngineBlockTokens }

// enginePrefixHashes appends to dst the chained hash of every full block of
// prompt, seeded with the model name so that models never share blocks.
// Hashes are comparable only under the same seed.
func enginePrefixHashes(dst []uint64, seed maphash.Seed, model string, prompt []byte) []uint64 {
	h := maphash.String(seed, model)
	for len(prompt) >= engineBlockBytes {
		h = engineMix(h ^ maphash.Bytes(seed, prompt[:engineBlockBytes]))
		dst = append(dst, h)
		prompt = prompt[engineBlockBytes:]
	}
	return dst
}

// engineMix is the splitmix64 finalizer: it makes the chain depend on the
// order of the blocks, not only on their set.
func engineMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// engineLookupBlocks is how many leading blocks of a prompt of n tokens may
// be served from the cache: at least one token is always computed, as in
// vLLM, so a prompt that is all cached still recomputes its last block.
func engineLookupBlocks(n int) int { return (n - 1) / EngineBlockTokens }

// engineBlockLRU is a fixed-capacity set of block hashes with least
// recently used eviction. It does not allocate after construction. It is
// not safe for concurrent use.
type engineBlockLRU struct {
	index map[uint64]int32
	nodes []engineLRUNode
	head  int32 // most recently used, -1 if empty
	tail  int32 // least recently used, -1 if empty
	free  int32 // next never-used node
}

type engineLRUNode struct {
	key        uint64
	prev, next int32
}

func newEngineBlockLRU(capacity int) *engineBlockLRU {
	return &engineBlockLRU{
		index: make(map[uint64]int32, capacity),
		nodes: make([]engineLRUNode, capacity),
		head:  -1,
		tail:  -1,
	}
}

// Len returns the number of blocks held.
func (c *engineBlockLRU) Len() int { return len(c.index) }

// Match returns how many of the leading hashes are held, in order up to
// the first miss, and marks those as just used.
func (c *engineBlockLRU) Match(hashes []uint64) int {
	for i, h := range hashes {
		n, ok := c.index[h]
		if !ok {
			return i
		}
		c.moveToFront(n)
	}
	return len(hashes)
}

// Add inserts every hash (or marks it as just used), evicting the least
// recently used blocks beyond capacity.
func (c *engineBlockLRU) Add(hashes []uint64) {
	for _, h := range hashes {
		if n, ok := c.index[h]; ok {
			c.moveToFront(n)
			continue
		}
		var n int32
		if int(c.free) < len(c.nodes) {
			n = c.free
			c.free++
		} else {
			n = c.tail
			c.unlink(n)
			delete(c.index, c.nodes[n].key)
		}
		c.nodes[n].key = h
		c.index[h] = n
		c.pushFront(n)
	}
}

func (c *engineBlockLRU) moveToFront(n int32) {
	if c.head == n {
		return
	}
	c.unlink(n)
	c.pushFront(n)
}

func (c *engineBlockLRU) unlink(n int32) {
	nd := &c.nodes[n]
	if nd.prev >= 0 {
		c.nodes[nd.prev].next = nd.next
	} else {
		c.head = nd.next
	}
	if nd.next >= 0 {
		c.nodes[nd.next].prev = nd.prev
	} else {
		c.tail = nd.prev
	}
}

func (c *engineBlockLRU) pushFront(n int32) {
	nd := &c.nodes[n]
	nd.prev = -1
	nd.next = c.head
	if c.head >= 0 {
		c.nodes[c.head].prev = n
	}
	c.head = n
	if c.tail < 0 {
		c.tail = n
	}
}
