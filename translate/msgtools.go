package translate

import (
	"bytes"
	"encoding/json"
)

// emptySchema is the parameters of a tool that has no input schema.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// translateTools sets the tools, tool_choice and parallel_tool_calls of
// out from the Messages request in. Tools of a type other than custom are
// dropped (see the package doc), and a tool_choice naming one with them.
func translateTools(out *chatRequest, in *msgRequest) error {
	names := make(map[string]bool, len(in.Tools))
	for i, raw := range in.Tools {
		path := index("tools", i)
		var t msgTool
		if err := decode(path, raw, &t); err != nil {
			return err
		}
		if t.Type != "" && t.Type != "custom" {
			continue
		}
		if t.Name == "" {
			return badParam(join(path, "name"), "field required")
		}
		schema := t.InputSchema
		if isNull(schema) || isEmptyObject(schema) {
			schema = emptySchema
		}
		out.Tools = append(out.Tools, chatTool{Type: "function",
			Function: chatFunction{Name: t.Name, Description: t.Description, Parameters: schema}})
		names[t.Name] = true
	}
	if isNull(in.ToolChoice) || len(out.Tools) == 0 {
		return nil
	}
	var tc msgToolChoice
	if err := decode("tool_choice", in.ToolChoice, &tc); err != nil {
		return err
	}
	switch tc.Type {
	case "auto":
		out.ToolChoice = "auto"
	case "any":
		out.ToolChoice = "required"
	case "none":
		out.ToolChoice = "none"
	case "tool":
		if tc.Name == "" {
			return badParam("tool_choice.name", "field required")
		}
		if !names[tc.Name] {
			return nil
		}
		out.ToolChoice = map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}}
	default:
		return badParam("tool_choice.type", "want auto, any, tool or none, got %q", tc.Type)
	}
	if tc.DisableParallelToolUse && tc.Type != "none" {
		f := false
		out.ParallelToolCalls = &f
	}
	return nil
}

// isEmptyObject reports whether raw is {} with any spacing.
func isEmptyObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) >= 2 && raw[0] == '{' && len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0 && raw[len(raw)-1] == '}'
}

// thinkingToChat passes the thinking setting of in to out as ctl says.
// Enabled thinking maps its budget to an effort (under 4096 tokens low,
// under 16384 medium, else high); adaptive thinking takes
// output_config.effort when it is low, medium or high ("max" is high) and
// otherwise leaves the effort to the backend.
func thinkingToChat(out *chatRequest, in *msgRequest, ctl ThinkingControl) {
	if in.Thinking == nil || ctl == ThinkingOmit {
		return
	}
	var on bool
	var effort string
	switch in.Thinking.Type {
	case "enabled":
		on = true
		switch b := in.Thinking.BudgetTokens; {
		case b < 4096:
			effort = "low"
		case b < 16384:
			effort = "medium"
		default:
			effort = "high"
		}
	case "adaptive":
		on = true
		if in.OutputConfig != nil {
			switch e := in.OutputConfig.Effort; e {
			case "low", "medium", "high":
				effort = e
			case "max":
				effort = "high"
			}
		}
	case "disabled":
	default:
		return
	}
	switch ctl {
	case ThinkingReasoningEffort:
		out.ReasoningEffort = effort
	case ThinkingTemplateKwargs:
		out.ChatTemplateKwargs = map[string]bool{"enable_thinking": on}
	}
}
