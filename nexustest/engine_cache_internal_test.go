package nexustest

import (
	"bytes"
	"hash/maphash"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEngineTokenEstimates(t *testing.T) {
	tests := []struct {
		bytes, tokens, lookup int
	}{
		{0, 1, 0},
		{1, 1, 0},
		{4, 1, 0},
		{5, 2, 0},
		{64, 16, 0}, // one full block, but the last block is always computed
		{65, 17, 1},
		{128, 32, 1},
		{132, 33, 2},
	}
	for _, tt := range tests {
		n := engineTokens(tt.bytes)
		assert.Equal(t, tt.tokens, n, "tokens of %d bytes", tt.bytes)
		assert.Equal(t, tt.lookup, engineLookupBlocks(n), "lookup blocks of %d tokens", n)
	}
}

func TestEnginePrefixHashesChain(t *testing.T) {
	seed := maphash.MakeSeed()
	a := bytes.Repeat([]byte("abcd"), 64) // 256 bytes: 4 blocks
	b := bytes.Clone(a)
	b[2*engineBlockBytes+5] = 'X' // differs inside block 2

	ha := enginePrefixHashes(nil, seed, "m", a)
	hb := enginePrefixHashes(nil, seed, "m", b)
	require.Len(t, ha, 4)
	assert.Equal(t, ha[:2], hb[:2], "blocks before the difference match")
	for i := 2; i < 4; i++ {
		assert.NotEqual(t, ha[i], hb[i], "block %d and every later one differ", i)
	}
	assert.Len(t, enginePrefixHashes(nil, seed, "m", a[:engineBlockBytes-1]), 0, "partial blocks are not hashed")
	assert.NotEqual(t, ha[0], enginePrefixHashes(nil, seed, "n", a)[0], "models never share blocks")
}

func TestEngineBlockLRU(t *testing.T) {
	c := newEngineBlockLRU(3)
	assert.Zero(t, c.Match([]uint64{1}))

	c.Add([]uint64{1, 2, 3})
	assert.Equal(t, 3, c.Len())
	assert.Equal(t, 3, c.Match([]uint64{1, 2, 3}))
	assert.Equal(t, 1, c.Match([]uint64{1, 9, 3}), "a match stops at the first miss")

	// Recency is now 1 (just matched), 3, 2: adding 4 evicts 2.
	c.Add([]uint64{4})
	assert.Equal(t, 3, c.Len())
	assert.Equal(t, 1, c.Match([]uint64{1, 2}))
	assert.Equal(t, 2, c.Match([]uint64{3, 4}))

	// Re-adding known hashes only refreshes them.
	c.Add([]uint64{1, 3, 4})
	assert.Equal(t, 3, c.Len())

	c.Add([]uint64{5, 6, 7, 8})
	assert.Equal(t, 3, c.Len())
	assert.Equal(t, 0, c.Match([]uint64{5}), "5 was evicted by 6, 7, 8")
	assert.Equal(t, 3, c.Match([]uint64{6, 7, 8}))
}

func TestEngineBlockLRUCapacityOne(t *testing.T) {
	c := newEngineBlockLRU(1)
	for k := range uint64(10) {
		c.Add([]uint64{k})
		require.Equal(t, 1, c.Len())
		require.Equal(t, 1, c.Match([]uint64{k}))
	}
}

func FuzzEngineParseChat(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}],"max_tokens":3}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":null}],"stream":true,"stream_options":{"include_usage":true}}`))
	f.Add([]byte(`{"messages":[]}`))
	f.Add([]byte(`{"model":`))
	seed := maphash.MakeSeed()
	f.Fuzz(func(t *testing.T, body []byte) {
		req, prompt, err := parseEngineChat(body)
		if err != nil {
			return
		}
		require.NotEmpty(t, *req.Model)
		assert.GreaterOrEqual(t, req.maxTokens(), 0)
		n := engineTokens(len(prompt))
		assert.GreaterOrEqual(t, n, 1)
		hashes := enginePrefixHashes(nil, seed, *req.Model, prompt)
		assert.Len(t, hashes, len(prompt)/engineBlockBytes)
		assert.LessOrEqual(t, engineLookupBlocks(n), len(hashes))
	})
}
