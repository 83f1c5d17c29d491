package routing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxAliasHops is how many alias hops Resolve follows: with a→b→c→d→e, "a"
// resolves to "d".
const MaxAliasHops = 3

// ValidateAliases checks an alias → target map: names and targets must be
// non-empty and no alias may lead back to itself. Each cycle is reported
// once, starting at its alphabetically first member, for example
//
//	routing.aliases: circular alias "a" -> "b" -> "a"
//
// Several problems are joined with errors.Join, in a stable order.
func ValidateAliases(aliases map[string]string) error {
	names := make([]string, 0, len(aliases))
	for name := range aliases {
		names = append(names, name)
	}
	slices.Sort(names)

	var errs []error
	for _, name := range names {
		switch {
		case strings.TrimSpace(name) == "":
			errs = append(errs, fmt.Errorf("routing.aliases: empty alias name (target %q)", aliases[name]))
		case strings.TrimSpace(aliases[name]) == "":
			errs = append(errs, fmt.Errorf("routing.aliases: alias %q has an empty target", name))
		}
	}

	reported := make(map[string]bool) // canonical first member of each reported cycle
	for _, start := range names {
		cycle := findCycle(aliases, start)
		if cycle == nil || reported[cycle[0]] {
			continue
		}
		reported[cycle[0]] = true
		errs = append(errs, fmt.Errorf("routing.aliases: circular alias %s", formatCycle(cycle)))
	}
	return errors.Join(errs...)
}

// findCycle follows the aliases from start and returns the cycle it runs
// into, rotated to begin at its smallest member, or nil when the chain ends.
func findCycle(aliases map[string]string, start string) []string {
	path := []string{start}
	at := map[string]int{start: 0}
	for cur := start; ; {
		next, ok := aliases[cur]
		if !ok {
			return nil
		}
		if i, seen := at[next]; seen {
			cycle := path[i:]
			first := 0
			for j, m := range cycle {
				if m < cycle[first] {
					first = j
				}
			}
			rotated := make([]string, 0, len(cycle))
			rotated = append(rotated, cycle[first:]...)
			return append(rotated, cycle[:first]...)
		}
		at[next] = len(path)
		path = append(path, next)
		cur = next
	}
}

// formatCycle renders a cycle as "a" -> "b" -> "a".
func formatCycle(cycle []string) string {
	var sb strings.Builder
	for _, m := range cycle {
		fmt.Fprintf(&sb, "%q -> ", m)
	}
	fmt.Fprintf(&sb, "%q", cycle[0])
	return sb.String()
}

// resolveAlias follows aliases from model for at most MaxAliasHops hops.
func resolveAlias(aliases map[string]string, model string) string {
	for range MaxAliasHops {
		target, ok := aliases[model]
		if !ok {
			break
		}
		model = target
	}
	return model
}
