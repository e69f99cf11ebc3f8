package runner_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
)

// sendingModel is a chat-completions server whose model calls
// agentchat_send n times on every turn, reporting tokens each response.
func sendingModel(t *testing.T, n int, tokens int) *modelServer {
	return newModelServer(t, "/chat/completions", func(req map[string]any, _ int) any {
		msgs := messages(req)
		if msgs[len(msgs)-1]["role"] == "tool" {
			return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": ""}}},
				"usage": map[string]any{"total_tokens": tokens}}
		}
		var calls []any
		for i := range n {
			calls = append(calls, map[string]any{"id": fmt.Sprint("call_", i), "type": "function", "function": map[string]any{
				"name": "agentchat_send", "arguments": fmt.Sprintf(`{"target":"#general","message":"spam %d"}`, i)}})
		}
		return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "tool_calls": calls}}},
			"usage": map[string]any{"total_tokens": tokens}}
	})
}

// TestGuardsEndSessions pins each guard: the session ends by itself with
// the guard's reason in session.json and the exit code the supervisor
// restarts on.
func TestGuardsEndSessions(t *testing.T) {
	url := startNode(t)
	cases := []struct {
		name    string
		backend func(t *testing.T) runner.Backend
		guards  runner.Guards
		reason  string
	}{
		{"max sends", func(t *testing.T) runner.Backend {
			return &runner.OpenAI{API: runner.API{BaseURL: sendingModel(t, 3, 1).URL, Model: "m"}}
		}, runner.Guards{MaxSends: 2}, runner.EndSends},
		{"max tools", func(t *testing.T) runner.Backend {
			return &runner.OpenAI{API: runner.API{BaseURL: sendingModel(t, 3, 1).URL, Model: "m"}}
		}, runner.Guards{MaxTools: 2}, runner.EndTools},
		{"budget", func(t *testing.T) runner.Backend {
			return &runner.OpenAI{API: runner.API{BaseURL: sendingModel(t, 1, 600).URL, Model: "m"}}
		}, runner.Guards{Budget: 1000}, runner.EndBudget},
		{"stall", func(t *testing.T) runner.Backend {
			return &runner.CLI{Command: []string{"/bin/sh", script(t, "sleep 30\n")}}
		}, runner.Guards{Stall: runner.Duration(300 * time.Millisecond)}, runner.EndStall},
		{"dead air", func(t *testing.T) runner.Backend {
			return &runner.CLI{Command: []string{"/bin/sh", script(t, "echo PASS\n")}}
		}, runner.Guards{DeadAir: runner.Duration(300 * time.Millisecond)}, runner.EndDeadAir},
		{"timeout", func(t *testing.T) runner.Backend {
			return &runner.CLI{Command: []string{"/bin/sh", script(t, "echo PASS\n")}}
		}, runner.Guards{Timeout: runner.Duration(500 * time.Millisecond)}, runner.EndTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t, url, "guarded", tc.backend(t))
			cfg.Guards = tc.guards
			stop, done := runAsync(t, cfg)
			waitEnd(t, done)
			err := stop()
			var end *runner.EndError
			require.ErrorAs(t, err, &end)
			require.Equal(t, tc.reason, end.Reason)
			require.Equal(t, runner.ExitGuard, runner.ExitCode(err))
			s, rerr := runner.ReadSession(runner.AgentDir(cfg.Home, "guarded"))
			require.NoError(t, rerr)
			require.Equal(t, tc.reason, s.EndedBy)
			require.NotEmpty(t, s.EndedAt)
		})
	}
}
