package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// modelList is what `nexus models --json` prints.
type modelList struct {
	Models []modelSummary `json:"models"`
}

// modelSummary is one model with every healthy backend serving it.
type modelSummary struct {
	ID       string   `json:"id"`
	Backends []string `json:"backends"`
	// ContextLength is the largest context length a backend reported, 0
	// when none did.
	ContextLength int `json:"context_length"`
}

// openAIModelList is the part of GET /v1/models the CLI reads.
type openAIModelList struct {
	Data []struct {
		ID            string `json:"id"`
		OwnedBy       string `json:"owned_by"`
		ContextLength int    `json:"context_length"`
	} `json:"data"`
}

func newModelsCommand(env func(string) (string, bool)) *cobra.Command {
	var f clientFlags
	var backend string
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the models available on a running server",
		Long: "models asks a running Nexus server (--url, default " + defaultServerURL + ") which models its\n" +
			"healthy backends serve, one line per model with the backends serving it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd, &f, env)
			if err != nil {
				return err
			}
			defer c.Close()
			var raw openAIModelList
			if err := c.get(cmd.Context(), "/v1/models", &raw); err != nil {
				return err
			}
			list := groupModels(raw, backend)
			out := cmd.OutOrStdout()
			if f.json {
				return printJSON(out, list)
			}
			if len(list.Models) == 0 {
				if backend != "" {
					_, err := fmt.Fprintf(out, "No models available on backend '%s'.\n", clean(backend))
					return err
				}
				_, err := fmt.Fprintln(out, "No models available.")
				return err
			}
			t := newTable(out, "MODEL", "BACKENDS", "CONTEXT LENGTH")
			for _, m := range list.Models {
				names := make([]string, len(m.Backends))
				for i, n := range m.Backends {
					names[i] = clean(n)
				}
				t.row(clean(m.ID), strings.Join(names, ", "), formatCount(m.ContextLength))
			}
			return t.flush()
		},
	}
	addClientFlags(cmd, &f)
	cmd.Flags().StringVarP(&backend, "backend", "b", "", "only models served by this backend")
	return cmd
}

// groupModels turns the one-entry-per-(model, backend) list of /v1/models
// into one entry per model, sorted by id with sorted backend names. With
// backend set, only models that backend serves are kept.
func groupModels(raw openAIModelList, backend string) modelList {
	byID := make(map[string]*modelSummary)
	for _, e := range raw.Data {
		m := byID[e.ID]
		if m == nil {
			m = &modelSummary{ID: e.ID, Backends: []string{}}
			byID[e.ID] = m
		}
		if e.OwnedBy != "" && !slices.Contains(m.Backends, e.OwnedBy) {
			m.Backends = append(m.Backends, e.OwnedBy)
		}
		m.ContextLength = max(m.ContextLength, e.ContextLength)
	}
	list := modelList{Models: []modelSummary{}}
	for _, m := range byID {
		if backend != "" && !slices.Contains(m.Backends, backend) {
			continue
		}
		slices.Sort(m.Backends)
		list.Models = append(list.Models, *m)
	}
	slices.SortFunc(list.Models, func(a, b modelSummary) int { return cmp.Compare(a.ID, b.ID) })
	return list
}
