package runner_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestSpecConfig pins how a spec file becomes a runner Config: explicit
// fields win, the environment of PROTOCOL.md §23 fills the rest, keys come
// from a file or a variable, and mistakes are configuration errors.
func TestSpecConfig(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600))
	e := env(map[string]string{"AGENTCHAT_URL": "ws://127.0.0.1:7000", "AGENT_MODEL": "llama3.2",
		"OPENAI_BASE_URL": "http://localhost:11434/v1", "OPENAI_API_KEY": "sk-env", "ANTHROPIC_API_KEY": "ak-env",
		"MISSION": "from env", "AGENT_RUNTIME": "cli", "OTHER_KEY": "sk-other"})

	cfg, err := runner.Spec{Name: "a", Backend: runner.BackendSpec{Type: "openai"}}.Config(e, "", nil)
	require.NoError(t, err)
	require.Equal(t, "ws://127.0.0.1:7000", cfg.URL)
	require.Equal(t, "from env", cfg.Mission)
	require.Equal(t, &runner.OpenAI{API: runner.API{BaseURL: "http://localhost:11434/v1", Model: "llama3.2", Key: "sk-env"}}, cfg.Backend)

	cfg, err = runner.Spec{Name: "a", Mission: "m", Backend: runner.BackendSpec{Type: "anthropic", Model: "claude", KeyFile: keyFile}}.Config(e, "", nil)
	require.NoError(t, err)
	require.Equal(t, &runner.Anthropic{API: runner.API{Model: "claude", Key: "sk-from-file"}}, cfg.Backend)

	cfg, err = runner.Spec{Name: "a", Backend: runner.BackendSpec{Type: "openai", KeyEnv: "OTHER_KEY"}}.Config(e, "", nil)
	require.NoError(t, err)
	require.Equal(t, "sk-other", cfg.Backend.(*runner.OpenAI).Key)

	cfg, err = runner.Spec{Name: "a", Backend: runner.BackendSpec{Command: []string{"llm"}, MCP: true}}.Config(e, "", []string{"/bin/agentchat", "mcp"})
	require.NoError(t, err, "AGENT_RUNTIME picks the backend")
	require.Equal(t, []string{"/bin/agentchat", "mcp"}, cfg.Backend.(*runner.CLI).MCPCommand)

	for name, s := range map[string]runner.Spec{
		"unknown type":   {Name: "a", Backend: runner.BackendSpec{Type: "gro"}},
		"cli no command": {Name: "a", Backend: runner.BackendSpec{Type: "cli"}},
		"no model":       {Name: "a", Backend: runner.BackendSpec{Type: "anthropic"}},
		"missing file":   {Name: "a", Backend: runner.BackendSpec{Type: "openai", Model: "m", KeyFile: "/nonexistent/key"}},
	} {
		_, err := s.Config(env(nil), "", nil)
		require.ErrorIs(t, err, runner.ErrConfig, name)
		require.Equal(t, runner.ExitFatal, runner.ExitCode(err), name)
	}
}

// TestReadSpecStrict pins that a misspelt field is refused, and durations
// read as strings or seconds.
func TestReadSpecStrict(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	require.NoError(t, os.WriteFile(good, []byte(`{"name":"a","mission":"m","backend":{"type":"cli","command":["x"]},
		"guards":{"timeout":"90s","dead_air":120,"max_sends":4}}`), 0o600))
	s, err := runner.ReadSpec(good)
	require.NoError(t, err)
	require.Equal(t, runner.Duration(90*time.Second), s.Guards.Timeout)
	require.Equal(t, runner.Duration(2*time.Minute), s.Guards.DeadAir)
	require.Equal(t, 4, s.Guards.MaxSends)

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"name":"a","misson":"typo"}`), 0o600))
	_, err = runner.ReadSpec(bad)
	require.ErrorIs(t, err, runner.ErrConfig)
	require.ErrorContains(t, err, `unknown field "misson"`)

	_, err = runner.ReadSpec(filepath.Join(dir, "absent.json"))
	require.ErrorIs(t, err, runner.ErrConfig)
}

// FuzzDuration feeds Duration's decoder arbitrary JSON: it never panics,
// and a decoded value encodes and decodes back to itself.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{`"90s"`, `120`, `1.5`, `"-1s"`, `"x"`, `null`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d runner.Duration
		if json.Unmarshal(data, &d) != nil {
			return
		}
		b, err := json.Marshal(d)
		require.NoError(t, err)
		var back runner.Duration
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, d, back)
	})
}
