package translate

import "encoding/json"

// stopReason maps a chat finish_reason to an Anthropic stop_reason. A stop
// caused by a stop string becomes stop_sequence when the backend says
// which (vLLM's stop_reason as a string); a reply with tool calls ends in
// tool_use whatever the backend said (some say stop).
func stopReason(finish string, vllmStop json.RawMessage, toolCalls bool) (reason string, sequence *string) {
	switch {
	case finish == "length":
		return "max_tokens", nil
	case toolCalls || finish == "tool_calls" || finish == "function_call":
		return "tool_use", nil
	case finish == "content_filter":
		return "refusal", nil
	}
	if isString(vllmStop) {
		var s string
		if json.Unmarshal(vllmStop, &s) == nil && s != "" {
			return "stop_sequence", &s
		}
	}
	return "end_turn", nil
}

// finishReason maps an Anthropic stop_reason to a chat finish_reason.
func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return "stop" // end_turn, stop_sequence, pause_turn, unknown
}
