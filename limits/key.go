package limits

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// MaxPerMinute is the largest requests or tokens per minute a key may have;
// it keeps the buckets' fixed-point arithmetic exact and free of overflow.
const MaxPerMinute = 10_000_000_000

// Key is one inbound API key as configured. A zero limit means unlimited.
type Key struct {
	// Name identifies the key in logs, history, metrics and statistics; it
	// is required, unique within a keyring, and never the secret.
	Name string
	// Secret is what clients send as "Authorization: Bearer <secret>".
	// Required and unique; surrounding whitespace is refused (it usually
	// is a stray newline from a file or environment variable, and a bearer
	// token never carries it).
	Secret string
	// Role is what the key may do; the zero value is RoleUser.
	Role Role
	// Models is an allow-list of model globs (see AllowsModel); empty or
	// nil allows every model.
	Models []string
	// RequestsPerMinute limits the requests the key may start per minute;
	// 0 = unlimited.
	RequestsPerMinute int64
	// TokensPerMinute limits the tokens (prompt plus completion, as the
	// backend reports them) the key may use per minute; 0 = unlimited.
	TokensPerMinute int64
	// MaxConcurrent limits the requests the key may have in flight at
	// once on this gateway; 0 = unlimited.
	MaxConcurrent int
}

// LegacyKeys turns a plain list of secrets (server.api_keys) into user keys
// without limits, named "key-1", "key-2", ... by position, so that the names
// reveal nothing about the secrets.
func LegacyKeys(secrets []string) []Key {
	keys := make([]Key, len(secrets))
	for i, s := range secrets {
		keys[i] = Key{Name: "key-" + strconv.Itoa(i+1), Secret: s}
	}
	return keys
}

// label names key i in an error message: by its position (1-based) and,
// when it has one, its name. Never by its secret.
func label(i int, k *Key) string {
	if k.Name == "" {
		return fmt.Sprintf("key %d", i+1)
	}
	return fmt.Sprintf("key %d (%q)", i+1, k.Name)
}

// validate returns every problem of key i, each naming the key.
func (k *Key) validate(i int) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{label(i, k)}, args...)...))
	}
	switch {
	case k.Name == "":
		bad("name is required")
	case strings.IndexFunc(k.Name, unicode.IsControl) >= 0:
		bad("name contains a control character")
	case k.Name == k.Secret:
		bad("name must not be the secret")
	}
	switch {
	case k.Secret == "":
		bad("secret is empty")
	case strings.TrimSpace(k.Secret) != k.Secret:
		bad("secret has leading or trailing whitespace")
	}
	if !k.Role.valid() {
		bad("invalid role %d", uint8(k.Role))
	}
	for j, m := range k.Models {
		if _, err := compileGlob(m); err != nil {
			bad("models[%d]: %v", j, err)
		}
	}
	for _, l := range []struct {
		field string
		v     int64
	}{
		{"requests_per_minute", k.RequestsPerMinute},
		{"tokens_per_minute", k.TokensPerMinute},
		{"max_concurrent_requests", int64(k.MaxConcurrent)},
	} {
		switch {
		case l.v < 0:
			bad("%s must not be negative, got %d", l.field, l.v)
		case l.v > MaxPerMinute:
			bad("%s must be at most %d, got %d", l.field, int64(MaxPerMinute), l.v)
		}
	}
	return errors.Join(errs...)
}

// validateKeys checks every key and that names and secrets are unique. It
// returns the keys' digests in order.
func validateKeys(keys []Key) ([]secretDigest, error) {
	var errs []error
	digests := make([]secretDigest, len(keys))
	names := make(map[string]int, len(keys))
	secrets := make(map[secretDigest]int, len(keys))
	for i := range keys {
		k := &keys[i]
		if err := k.validate(i); err != nil {
			errs = append(errs, err)
		}
		if k.Name != "" {
			if j, dup := names[k.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: name already used by key %d", label(i, k), j+1))
			} else {
				names[k.Name] = i
			}
		}
		if k.Secret != "" {
			digests[i] = digest(k.Secret)
			if j, dup := secrets[digests[i]]; dup {
				errs = append(errs, fmt.Errorf("%s: same secret as %s", label(i, k), label(j, &keys[j])))
			} else {
				secrets[digests[i]] = i
			}
		}
	}
	return digests, errors.Join(errs...)
}

// secretDigest is the SHA-256 of a secret as four words, which compare
// faster in constant time than 32 bytes.
type secretDigest [sha256.Size / 8]uint64

// maxStackSecret is the longest secret digest hashes without allocating.
const maxStackSecret = 256

// digest returns the SHA-256 of secret. Secrets up to maxStackSecret bytes
// are copied to the stack first: converting a longer string straight to a
// []byte would allocate.
func digest(secret string) secretDigest {
	var sum [sha256.Size]byte
	if len(secret) <= maxStackSecret {
		var buf [maxStackSecret]byte
		n := copy(buf[:], secret)
		sum = sha256.Sum256(buf[:n])
	} else {
		sum = sha256.Sum256([]byte(secret))
	}
	var d secretDigest
	for i := range d {
		d[i] = binary.LittleEndian.Uint64(sum[8*i:])
	}
	return d
}

// equal returns 1 if d and e are equal and 0 otherwise, in time
// independent of their contents.
func (d *secretDigest) equal(e *secretDigest) int {
	var diff uint64
	for i := range d {
		diff |= d[i] ^ e[i]
	}
	// diff|-diff has its top bit set exactly when diff != 0.
	return int(((diff | -diff) >> 63) ^ 1)
}
