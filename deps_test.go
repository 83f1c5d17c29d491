package nexus_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportDirection enforces DESIGN §2: packages depend one way.
// registry, api and internal/openai import nothing of ours; feature
// packages import at most registry and api; proxy and translate at most
// internal/openai; only the root package composes them; nothing imports
// cmd/ or examples/; production code never imports nexustest.
func TestImportDirection(t *testing.T) {
	t.Parallel()
	const mod = "github.com/nexusllm/nexus"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, mod+"/...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	feature := []string{"registry", "api"} // what a feature package may import
	allowed := map[string][]string{
		"": {"api", "dashboard", "discovery", "health", "internal/openai", "limits", "logging", "metrics",
			"proxy", "registry", "routing", "signals", "telemetry", "translate"},
		"registry":             {},
		"api":                  {},
		"internal/openai":      {},
		"logging":              {},
		"nexustest":            {},
		"internal/promtest":    {},
		"internal/replicatest": {},
		"deploy":               {}, // tests of the deployment files only
		"routing":              feature,
		"health":               feature,
		"signals":              feature,
		"discovery":            feature,
		"metrics":              feature,
		"limits":               feature,
		"telemetry":            feature,
		"dashboard":            feature,
		"proxy":                {"internal/openai"},
		"translate":            {"internal/openai"},
		// config loads nexus.toml into the root package's Config; the root
		// package never imports it.
		"config": {"", "limits", "logging", "registry", "routing"},
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/")
		var ours []string
		for imp := range strings.FieldsSeq(imports) {
			if imp == mod || strings.HasPrefix(imp, mod+"/") {
				r := strings.TrimPrefix(strings.TrimPrefix(imp, mod), "/")
				assert.False(t, strings.HasPrefix(r, "cmd/") || strings.HasPrefix(r, "examples/"), "%s imports %s", pkg, imp)
				ours = append(ours, r)
			}
		}
		if strings.HasPrefix(rel, "cmd/") || strings.HasPrefix(rel, "examples/") {
			continue
		}
		want, known := allowed[rel]
		if !assert.True(t, known, "package %s is not in the dependency table of DESIGN §2; add it", pkg) {
			continue
		}
		for _, imp := range ours {
			assert.True(t, slices.Contains(want, imp), "%s must not import %s", pkg, imp)
		}
	}
}
