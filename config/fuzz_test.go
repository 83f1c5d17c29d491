package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nexusllm/nexus/config"
)

// FuzzParse checks that no input makes Parse panic, and that
// whatever parses can be validated, overlaid with the environment and
// printed without panicking or leaking a resolved secret.
func FuzzParse(f *testing.F) {
	f.Add(config.Example())
	for _, seed := range []string{
		"",
		"[server]\nport = 8000\n",
		"[server]\nport = 0\nhost = \"\"\n",
		"[[backends]]\nname = \"a\"\nurl = \"http://127.0.0.1:1\"\napi_key_env = \"K\"\n",
		"backends = [{name = \"a\", nmae = 1, models = [{id = \"m\", vision = true}]}]\n",
		"[routing.aliases]\na = \"b\"\nb = \"a\"\n[routing.fallbacks]\nx = []\n",
		"[logging]\nlevel = \"TRACE\"\ncomponent_levels = { \"\" = \"x\" }\n",
		"[server\nport = 1",
		"a.b.c.d = 1\n[a.b]\n",
	} {
		f.Add([]byte(seed))
	}
	const secret = "fuzz-secret-value-42"
	env := func(name string) (string, bool) {
		if strings.HasPrefix(name, "NEXUS_") {
			return "", false
		}
		return secret, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, warnings, err := config.Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, w := range warnings {
			if !strings.HasPrefix(w, "unknown config key ") {
				t.Fatalf("unexpected warning %q", w)
			}
		}
		_ = cfg.Validate()
		if _, err := config.ApplyEnv(&cfg, env); err != nil {
			t.Fatalf("ApplyEnv with valid values failed: %v", err)
		}
		_ = cfg.Validate()
		for _, b := range cfg.Backends {
			if b.APIKeyEnv != "" && b.APIKey != secret {
				t.Fatalf("backend %q: key not resolved", b.Name)
			}
		}
		if out := fmt.Sprintf("%+v", cfg); strings.Contains(out, secret) && !strings.Contains(string(data), secret) {
			t.Fatalf("secret printed: %s", out)
		}
	})
}
