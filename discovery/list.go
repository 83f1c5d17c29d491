package discovery

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// DefaultListWait is how long List listens when wait is zero: long enough
// for one query round of an MDNSBrowser with default options.
const DefaultListWait = 3 * time.Second

// List browses the service types (empty means DefaultServiceTypes) with
// browser (nil means NewMDNSBrowser with zero options) for wait (zero means
// DefaultListWait) and returns what was announced, one entry per service
// type and instance (the latest seen), sorted by service type and then
// instance. It is what `nexus discover` prints. When ctx ends first, List
// returns what it found so far with ctx's error.
func List(ctx context.Context, browser Browser, serviceTypes []string, wait time.Duration) ([]Announcement, error) {
	if browser == nil {
		browser = NewMDNSBrowser(MDNSOptions{})
	}
	if len(serviceTypes) == 0 {
		serviceTypes = DefaultServiceTypes()
	}
	types := make([]string, 0, len(serviceTypes))
	for _, s := range serviceTypes {
		if s = canonicalService(s); s != "" {
			types = append(types, s)
		}
	}
	if wait <= 0 {
		wait = DefaultListWait
	}
	bctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()

	var mu sync.Mutex
	seen := map[string]Announcement{}
	err := browser.Browse(bctx, types, func(a Announcement) {
		a.Service = canonicalService(a.Service)
		mu.Lock()
		seen[a.Service+"\x00"+a.Instance] = a
		mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	mu.Lock()
	list := slices.Collect(maps.Values(seen))
	mu.Unlock()
	slices.SortFunc(list, func(a, b Announcement) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Instance, b.Instance))
	})
	return list, ctx.Err()
}
