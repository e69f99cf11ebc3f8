package runner

import (
	"context"
	"encoding/json"
	"fmt"
)

// OpenAI is the "openai" backend: the chat-completions API of OpenAI, which
// Ollama, llama.cpp's server and vLLM also serve. The agentchat tools are
// offered as functions; the model's tool calls run through Tools, their
// results go back as "tool" messages, until the model answers in text or
// MaxRounds is reached.
type OpenAI struct {
	// API's BaseURL defaults to DefaultOpenAIBaseURL (OPENAI_BASE_URL; for
	// Ollama, http://localhost:11434/v1).
	API
}

// DefaultOpenAIBaseURL is OpenAI's API.
const DefaultOpenAIBaseURL = "https://api.openai.com/v1"

// The chat-completions wire format, as much of it as the runner uses.
type (
	oaiRequest struct {
		Model     string       `json:"model"`
		Messages  []oaiMessage `json:"messages"`
		Tools     []oaiTool    `json:"tools,omitempty"`
		MaxTokens int          `json:"max_tokens,omitempty"`
	}
	oaiMessage struct {
		Role       string        `json:"role"`
		Content    *string       `json:"content"`
		ToolCalls  []oaiToolCall `json:"tool_calls,omitempty"`
		ToolCallID string        `json:"tool_call_id,omitempty"`
	}
	oaiTool struct {
		Type     string      `json:"type"`
		Function oaiFunction `json:"function"`
	}
	oaiFunction struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	}
	oaiToolCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	oaiResponse struct {
		Choices []struct {
			Message      oaiMessage `json:"message"`
			FinishReason string     `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			TotalTokens int64 `json:"total_tokens"`
		} `json:"usage"`
	}
)

// Turn runs one exchange with tool calls.
func (o *OpenAI) Turn(ctx context.Context, t Turn, tools Tools) (Reply, error) {
	base := o.API
	if base.BaseURL == "" {
		base.BaseURL = DefaultOpenAIBaseURL
	}
	headers := map[string]string{}
	if base.Key != "" {
		headers["Authorization"] = "Bearer " + base.Key
	}
	req := oaiRequest{Model: base.Model, MaxTokens: base.maxTokens(),
		Messages: []oaiMessage{{Role: "system", Content: &t.System}, {Role: "user", Content: &t.Prompt}}}
	for _, tl := range tools.List() {
		req.Tools = append(req.Tools, oaiTool{Type: "function",
			Function: oaiFunction{Name: tl.Name, Description: tl.Description, Parameters: tl.Schema}})
	}
	var reply Reply
	for range base.maxRounds() {
		var resp oaiResponse
		if err := base.post(ctx, "/chat/completions", headers, req, &resp); err != nil {
			return reply, err
		}
		reply.Tokens += resp.Usage.TotalTokens
		if len(resp.Choices) == 0 {
			return reply, fmt.Errorf("%w: chat completion without choices", ErrBackend)
		}
		msg := resp.Choices[0].Message
		if resp.Usage.TotalTokens == 0 {
			reply.Tokens += estimateTokens(deref(msg.Content))
		}
		if len(msg.ToolCalls) == 0 {
			reply.Text = deref(msg.Content)
			return reply, nil
		}
		req.Messages = append(req.Messages, oaiMessage{Role: "assistant", Content: msg.Content, ToolCalls: msg.ToolCalls})
		for _, call := range msg.ToolCalls {
			text, isErr, err := tools.Call(ctx, call.Function.Name, json.RawMessage(call.Function.Arguments))
			if err != nil {
				return reply, err
			}
			if isErr {
				text = "error: " + text
			}
			req.Messages = append(req.Messages, oaiMessage{Role: "tool", ToolCallID: call.ID, Content: &text})
		}
	}
	return reply, nil // out of rounds: the tools acted, nothing more to say
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
