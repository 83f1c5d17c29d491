package nexus

import (
	"fmt"

	"github.com/nexusllm/nexus/limits"
)

// keyring builds the inbound keys of the configuration: the named [[keys]]
// and, after them, server.api_keys as unnamed admin keys ("key-1", …),
// which could do everything before keys had roles. A nil Keyring (no keys
// at all) means authentication is off. opts are passed to limits.New
// (the store of the budgets, see sharedLimits).
func (c Config) keyring(opts ...limits.Option) (*limits.Keyring, error) {
	if len(c.Keys) == 0 && len(c.Server.APIKeys) == 0 {
		return nil, nil
	}
	keys := make([]limits.Key, 0, len(c.Keys)+len(c.Server.APIKeys))
	for i, k := range c.Keys {
		role, err := limits.ParseRole(k.Role)
		if err != nil {
			return nil, fmt.Errorf("keys[%d].role: %w", i, err)
		}
		keys = append(keys, limits.Key{
			Name: k.Name, Secret: k.Key, Role: role, Models: k.Models,
			RequestsPerMinute: k.RequestsPerMinute, TokensPerMinute: k.TokensPerMinute,
			MaxConcurrent: k.MaxConcurrentRequests,
		})
	}
	for _, k := range limits.LegacyKeys(c.Server.APIKeys) {
		k.Role = limits.RoleAdmin
		keys = append(keys, k)
	}
	kr, err := limits.New(keys, opts...)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return kr, nil
}
