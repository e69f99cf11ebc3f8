package runner_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
)

// modelServer is an in-process HTTP server speaking a model API's wire
// format; reply decides each response from the decoded request. It keeps
// every request and its headers.
type modelServer struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []map[string]any
	headers []http.Header
}

func newModelServer(t *testing.T, path string, reply func(req map[string]any, n int) any) *modelServer {
	t.Helper()
	m := &modelServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != path {
			http.Error(w, `{"error":{"message":"no such endpoint"}}`, http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		m.reqs = append(m.reqs, req)
		m.headers = append(m.headers, r.Header.Clone())
		n := len(m.reqs)
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply(req, n))
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *modelServer) requests() ([]map[string]any, []http.Header) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]map[string]any(nil), m.reqs...), append([]http.Header(nil), m.headers...)
}

// messages returns a request's messages array.
func messages(req map[string]any) []map[string]any {
	var out []map[string]any
	for _, m := range req["messages"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

// toolNames returns the names of a request's tools; fn picks the name out
// of one tool object.
func toolNames(req map[string]any, fn func(map[string]any) string) []string {
	var out []string
	for _, tl := range req["tools"].([]any) {
		out = append(out, fn(tl.(map[string]any)))
	}
	return out
}

// TestOpenAIBackendCallsTools drives a session with a chat-completions
// server: on the opening turn the model calls agentchat_send (the peer
// gets the message through the MCP bridge's tool), sees the tool's result
// in a "tool" message, then answers in text, which goes to #general.
func TestOpenAIBackendCallsTools(t *testing.T) {
	url := startNode(t)
	bob := dialPeer(t, url, "bob")
	srv := newModelServer(t, "/v1/chat/completions", func(req map[string]any, n int) any {
		msgs := messages(req)
		last := msgs[len(msgs)-1]
		switch {
		case n == 1:
			return map[string]any{"id": "c1", "object": "chat.completion", "choices": []any{map[string]any{
				"index": 0, "finish_reason": "tool_calls", "message": map[string]any{"role": "assistant", "content": nil,
					"tool_calls": []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{
						"name": "agentchat_send", "arguments": `{"target":"#general","message":"hello from a tool"}`}}}}}},
				"usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}
		case last["role"] == "tool":
			return map[string]any{"id": "c2", "object": "chat.completion", "choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "and a text answer"}}},
				"usage": map[string]any{"total_tokens": 30}}
		default:
			return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": "PASS"}}}}
		}
	})
	cfg := baseConfig(t, url, "oai", &runner.OpenAI{API: runner.API{BaseURL: srv.URL + "/v1", Model: "llama3", Key: "sk-test"}})
	stop, _ := runAsync(t, cfg)
	bob.waitMsg(t, "hello from a tool")
	bob.waitMsg(t, "and a text answer")
	require.NoError(t, stop())

	reqs, headers := srv.requests()
	require.GreaterOrEqual(t, len(reqs), 2)
	require.Equal(t, "Bearer sk-test", headers[0].Get("Authorization"))
	require.Equal(t, "llama3", reqs[0]["model"])
	first := messages(reqs[0])
	require.Equal(t, "system", first[0]["role"])
	require.Contains(t, first[0]["content"], "Answer every message briefly.")
	require.Equal(t, "user", first[1]["role"])
	names := toolNames(reqs[0], func(tl map[string]any) string {
		require.Equal(t, "function", tl["type"])
		fn := tl["function"].(map[string]any)
		require.Equal(t, "object", fn["parameters"].(map[string]any)["type"], "parameters are the MCP tool's JSON Schema")
		return fn["name"].(string)
	})
	require.Contains(t, names, "agentchat_send")
	require.Contains(t, names, "agentchat_propose")
	require.Contains(t, names, "agentchat_accept")
	require.NotContains(t, names, "agentchat_connect", "the runner owns the connection")
	require.NotContains(t, names, "agentchat_listen", "the runner listens itself")
	for _, r := range runner.RestrictedTools {
		require.NotContains(t, names, r, "restricted unless the spec lists it")
	}

	second := messages(reqs[1])
	asst, tool := second[len(second)-2], second[len(second)-1]
	require.Equal(t, "assistant", asst["role"])
	require.Equal(t, "call_1", asst["tool_calls"].([]any)[0].(map[string]any)["id"])
	require.Equal(t, "tool", tool["role"])
	require.Equal(t, "call_1", tool["tool_call_id"])
	require.Contains(t, tool["content"], `"success":true`)

	s, err := runner.ReadSession(runner.AgentDir(cfg.Home, "oai"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, s.Tokens, int64(150), "usage.total_tokens is counted")
	require.Equal(t, 2, s.Sends, "the tool's send and the text answer")
}

// TestAnthropicBackendCallsTools is the same exchange over the Messages
// API: a tool_use block, its tool_result in the next user message, then a
// text block.
func TestAnthropicBackendCallsTools(t *testing.T) {
	url := startNode(t)
	bob := dialPeer(t, url, "bob")
	srv := newModelServer(t, "/v1/messages", func(req map[string]any, n int) any {
		msgs := messages(req)
		last := msgs[len(msgs)-1]
		content, _ := last["content"].([]any)
		switch {
		case n == 1:
			return map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "tool_use",
				"content": []any{
					map[string]any{"type": "thinking", "thinking": "I should greet.", "signature": "c2lnbmF0dXJl"},
					map[string]any{"type": "text", "text": "Let me greet."},
					map[string]any{"type": "tool_use", "id": "toolu_1", "name": "agentchat_send",
						"input": map[string]any{"target": "#general", "message": "hello from claude's tool"}}},
				"usage": map[string]any{"input_tokens": 200, "output_tokens": 10}}
		case len(content) > 0 && content[0].(map[string]any)["type"] == "tool_result":
			return map[string]any{"id": "msg_2", "type": "message", "role": "assistant", "stop_reason": "end_turn",
				"content": []any{map[string]any{"type": "text", "text": "greeted everyone"}},
				"usage":   map[string]any{"input_tokens": 5, "output_tokens": 5}}
		default:
			return map[string]any{"type": "message", "role": "assistant", "stop_reason": "end_turn",
				"content": []any{map[string]any{"type": "text", "text": "PASS"}}, "usage": map[string]any{}}
		}
	})
	cfg := baseConfig(t, url, "claude", &runner.Anthropic{API: runner.API{BaseURL: srv.URL, Model: "claude-test", Key: "ak-test"}})
	stop, _ := runAsync(t, cfg)
	bob.waitMsg(t, "hello from claude's tool")
	bob.waitMsg(t, "greeted everyone")
	require.NoError(t, stop())

	reqs, headers := srv.requests()
	require.GreaterOrEqual(t, len(reqs), 2)
	require.Equal(t, "ak-test", headers[0].Get("x-api-key"))
	require.Equal(t, runner.AnthropicVersion, headers[0].Get("anthropic-version"))
	require.Empty(t, headers[0].Get("Authorization"))
	require.Equal(t, "claude-test", reqs[0]["model"])
	require.Contains(t, reqs[0]["system"], "Answer every message briefly.")
	require.EqualValues(t, runner.DefaultMaxTokens, reqs[0]["max_tokens"])
	names := toolNames(reqs[0], func(tl map[string]any) string {
		require.Equal(t, "object", tl["input_schema"].(map[string]any)["type"])
		return tl["name"].(string)
	})
	require.Contains(t, names, "agentchat_send")
	require.NotContains(t, names, "agentchat_connect")

	second := messages(reqs[1])
	asst, user := second[len(second)-2], second[len(second)-1]
	require.Equal(t, "assistant", asst["role"])
	require.Equal(t, []any{
		map[string]any{"type": "thinking", "thinking": "I should greet.", "signature": "c2lnbmF0dXJl"},
		map[string]any{"type": "text", "text": "Let me greet."},
		map[string]any{"type": "tool_use", "id": "toolu_1", "name": "agentchat_send",
			"input": map[string]any{"target": "#general", "message": "hello from claude's tool"}},
	}, asst["content"], "the model's blocks go back whole")
	result := user["content"].([]any)[0].(map[string]any)
	require.Equal(t, "tool_result", result["type"])
	require.Equal(t, "toolu_1", result["tool_use_id"])
	require.Contains(t, result["content"], `"success":true`)

	s, err := runner.ReadSession(runner.AgentDir(cfg.Home, "claude"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, s.Tokens, int64(220))
}

// TestAPIErrorStatusEndsTurn pins that an API error status fails the
// session with the API's message, and the key is not in it.
func TestAPIErrorStatusEndsTurn(t *testing.T) {
	url := startNode(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"message":"model not found"}}`, http.StatusNotFound)
	}))
	defer srv.Close()
	cfg := baseConfig(t, url, "lost", &runner.OpenAI{API: runner.API{BaseURL: srv.URL, Model: "nope", Key: "sk-secret"}})
	stop, done := runAsync(t, cfg)
	waitEnd(t, done)
	err := stop()
	require.ErrorIs(t, err, runner.ErrBackend)
	require.ErrorContains(t, err, "404 Not Found")
	require.ErrorContains(t, err, "model not found")
	require.NotContains(t, err.Error(), "sk-secret")
}

// TestToolAllowlist pins the spec's tools: the model is offered exactly
// the listed tools (a restricted one too, when listed); the runner's own
// tools and names that are no tools are refused before the session starts.
func TestToolAllowlist(t *testing.T) {
	url := startNode(t)
	srv := newModelServer(t, "/v1/chat/completions", func(map[string]any, int) any {
		return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": "PASS"}}}}
	})
	cfg := baseConfig(t, url, "picky", &runner.OpenAI{API: runner.API{BaseURL: srv.URL + "/v1", Model: "m"}})
	cfg.Tools = []string{"agentchat_send", "agentchat_nick"}
	stop, _ := runAsync(t, cfg)
	require.Eventually(t, func() bool { reqs, _ := srv.requests(); return len(reqs) > 0 }, waitTimeout, 10*time.Millisecond)
	require.NoError(t, stop())
	reqs, _ := srv.requests()
	names := toolNames(reqs[0], func(tl map[string]any) string { return tl["function"].(map[string]any)["name"].(string) })
	require.ElementsMatch(t, []string{"agentchat_send", "agentchat_nick"}, names)

	for list, want := range map[string]string{"agentchat_listen": "is the runner's own", "agentchat_sned": `unknown tool: "agentchat_sned"`} {
		bad := cfg
		bad.Tools = []string{list}
		err := runner.Run(t.Context(), bad)
		require.ErrorIs(t, err, runner.ErrConfig, list)
		require.ErrorContains(t, err, want)
	}
}
