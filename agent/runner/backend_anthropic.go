package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Anthropic is the "anthropic" backend: the Anthropic Messages API. The
// agentchat tools are offered as tools; each tool_use block runs through
// Tools and its result goes back as a tool_result block, until the model
// stops for another reason than tool_use or MaxRounds is reached.
type Anthropic struct {
	// API's BaseURL defaults to DefaultAnthropicBaseURL
	// (ANTHROPIC_BASE_URL).
	API
}

// DefaultAnthropicBaseURL is Anthropic's API; AnthropicVersion is the API
// version header the runner speaks.
const (
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	AnthropicVersion        = "2023-06-01"
)

// The Messages wire format, as much of it as the runner uses.
type (
	antRequest struct {
		Model     string       `json:"model"`
		MaxTokens int          `json:"max_tokens"`
		System    string       `json:"system,omitempty"`
		Messages  []antMessage `json:"messages"`
		Tools     []antTool    `json:"tools,omitempty"`
	}
	antMessage struct {
		Role string `json:"role"`
		// Content is []antBlock, or the model's own blocks as it sent them
		// (json.RawMessage each), which go back byte for byte: a block this
		// struct does not know (thinking, with its signature) must not lose
		// a field on the way.
		Content any `json:"content"`
	}
	antBlock struct {
		Type string `json:"type"`
		// text
		Text string `json:"text,omitempty"`
		// tool_use
		ID    string          `json:"id,omitempty"`
		Name  string          `json:"name,omitempty"`
		Input json.RawMessage `json:"input,omitempty"`
		// tool_result
		ToolUseID string `json:"tool_use_id,omitempty"`
		Content   string `json:"content,omitempty"`
		IsError   bool   `json:"is_error,omitempty"`
	}
	antTool struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	antResponse struct {
		Content    []json.RawMessage `json:"content"`
		StopReason string            `json:"stop_reason"`
		Usage      struct {
			InputTokens  int64 `json:"input_tokens"`
			OutputTokens int64 `json:"output_tokens"`
		} `json:"usage"`
	}
)

// Turn runs one exchange with tool calls.
func (a *Anthropic) Turn(ctx context.Context, t Turn, tools Tools) (Reply, error) {
	base := a.API
	if base.BaseURL == "" {
		base.BaseURL = DefaultAnthropicBaseURL
	}
	headers := map[string]string{"anthropic-version": AnthropicVersion}
	if base.Key != "" {
		headers["x-api-key"] = base.Key
	}
	req := antRequest{Model: base.Model, MaxTokens: base.maxTokens(), System: t.System,
		Messages: []antMessage{{Role: "user", Content: []antBlock{{Type: "text", Text: t.Prompt}}}}}
	for _, tl := range tools.List() {
		req.Tools = append(req.Tools, antTool{Name: tl.Name, Description: tl.Description, InputSchema: tl.Schema})
	}
	var reply Reply
	for range base.maxRounds() {
		var resp antResponse
		if err := base.post(ctx, "/v1/messages", headers, req, &resp); err != nil {
			return reply, err
		}
		reply.Tokens += resp.Usage.InputTokens + resp.Usage.OutputTokens
		var text strings.Builder
		var results []antBlock
		for _, raw := range resp.Content {
			var b antBlock
			if err := json.Unmarshal(raw, &b); err != nil {
				return reply, fmt.Errorf("%w: content block: %v", ErrBackend, err)
			}
			switch b.Type {
			case "text":
				text.WriteString(b.Text)
			case "tool_use":
				out, isErr, err := tools.Call(ctx, b.Name, b.Input)
				if err != nil {
					return reply, err
				}
				results = append(results, antBlock{Type: "tool_result", ToolUseID: b.ID, Content: out, IsError: isErr})
			}
		}
		if resp.StopReason != "tool_use" || len(results) == 0 {
			reply.Text = text.String()
			return reply, nil
		}
		req.Messages = append(req.Messages, antMessage{Role: "assistant", Content: resp.Content},
			antMessage{Role: "user", Content: results})
	}
	return reply, nil // out of rounds: the tools acted, nothing more to say
}
