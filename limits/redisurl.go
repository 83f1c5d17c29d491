package limits

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisOptions returns client options for rawURL — redis://[user:password@]
// host[:port][/db], rediss:// for TLS, or unix:///path — with every
// timeout (dial, read, write, pool wait) set to timeout (0 means
// DefaultRedisTimeout), context deadlines honoured, and no retries, so a
// call to a down or slow server fails within timeout and the caller falls
// back at once. Errors never quote the URL, which may hold a password.
func RedisOptions(rawURL string, timeout time.Duration) (*redis.Options, error) {
	if timeout <= 0 {
		timeout = DefaultRedisTimeout
	}
	if strings.TrimSpace(rawURL) == "" {
		return nil, errors.New("a Redis URL is required")
	}
	if _, err := url.Parse(rawURL); err != nil {
		return nil, errors.New("not a valid URL (want redis://host:port/db, rediss:// or unix://)")
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	o.DialerRetries = 1
	// No CLIENT SETINFO or maintenance-notification handshake: a new
	// connection costs one round trip less.
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return o, nil
}

// RedactRedisURL returns rawURL with its password replaced by "xxxxx", for
// logs and printed configuration; a URL that does not parse is replaced
// whole.
func RedactRedisURL(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "[REDACTED]"
	}
	return u.Redacted()
}
