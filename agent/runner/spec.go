package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentchat/mesh/agent/mcp"
)

// Spec is an agent as a JSON file describes it: the file `agentchat run
// --spec` reads and each entry of the supervisor's config. Config turns it
// into a runner Config, filling what it leaves out from the environment
// (PROTOCOL.md §23's names).
type Spec struct {
	Name     string      `json:"name"`
	Mission  string      `json:"mission"`
	URL      string      `json:"url,omitempty"`    // default AGENTCHAT_URL
	Public   bool        `json:"public,omitempty"` // or AGENTCHAT_PUBLIC=true
	Channels []string    `json:"channels,omitempty"`
	StateDir string      `json:"state_dir,omitempty"`
	Backend  BackendSpec `json:"backend"`
	// MaxTranscript is the prompt's transcript lines (default
	// MAX_TRANSCRIPT, else 200).
	MaxTranscript int    `json:"max_transcript,omitempty"`
	Guards        Guards `json:"guards,omitempty"`
	// Tools, if set, are the only agentchat tools the backend gets (an
	// allowlist of the MCP bridge's tool names); without it, all but
	// RestrictedTools.
	Tools []string `json:"tools,omitempty"`
}

// BackendSpec chooses and configures a backend.
type BackendSpec struct {
	// Type is "cli", "openai" or "anthropic" (default AGENT_RUNTIME).
	Type string `json:"type"`
	// Command, PromptArg and MCP configure the cli backend (CLI). MCP
	// writes mcp.json in the state directory, substituted for
	// "{mcp_config}" in Command.
	Command   []string `json:"command,omitempty"`
	PromptArg bool     `json:"prompt_arg,omitempty"`
	MCP       bool     `json:"mcp,omitempty"`
	// BaseURL (default OPENAI_BASE_URL or ANTHROPIC_BASE_URL), Model
	// (default AGENT_MODEL) and MaxTokens configure the API backends.
	BaseURL   string `json:"base_url,omitempty"`
	Model     string `json:"model,omitempty"`
	MaxTokens int    `json:"max_tokens,omitempty"`
	// KeyFile is a file holding the API key; KeyEnv names the variable
	// holding it (default OPENAI_API_KEY or ANTHROPIC_API_KEY). The key
	// is never written anywhere by the runner.
	KeyFile string `json:"key_file,omitempty"`
	KeyEnv  string `json:"key_env,omitempty"`
}

// Backend types.
const (
	BackendCLI       = "cli"
	BackendOpenAI    = "openai"
	BackendAnthropic = "anthropic"
)

// ReadSpec reads a spec file.
func ReadSpec(path string) (Spec, error) {
	var s Spec
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := DecodeStrict(data, &s); err != nil {
		return s, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	return s, nil
}

// DecodeStrict decodes JSON into v, refusing unknown fields (a misspelt
// option must not be silently ignored) and trailing data.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// Config builds the runner Config of s. getenv fills the fields s leaves
// out; home is the directory holding .agentchat ("" for the user's);
// mcpCommand is the command that serves `agentchat mcp`, for the cli
// backend's MCP config. Every failure wraps ErrConfig.
func (s Spec) Config(getenv func(string) string, home string, mcpCommand []string) (Config, error) {
	cfg := Config{Name: s.Name, Mission: s.Mission, URL: s.URL, Public: s.Public || getenv("AGENTCHAT_PUBLIC") == "true",
		Channels: s.Channels, Home: home, StateDir: s.StateDir, MaxTranscript: s.MaxTranscript, Guards: s.Guards,
		Tools: s.Tools}
	if cfg.URL == "" {
		cfg.URL = getenv("AGENTCHAT_URL")
	}
	if cfg.Mission == "" {
		cfg.Mission = getenv("MISSION")
	}
	if cfg.MaxTranscript == 0 {
		if v := getenv("MAX_TRANSCRIPT"); v != "" {
			if _, err := fmt.Sscan(v, &cfg.MaxTranscript); err != nil {
				return cfg, fmt.Errorf("%w: MAX_TRANSCRIPT=%q: %v", ErrConfig, v, err)
			}
		}
	}
	b := s.Backend
	if b.Type == "" {
		b.Type = getenv("AGENT_RUNTIME")
	}
	if b.Model == "" {
		b.Model = getenv("AGENT_MODEL")
	}
	switch b.Type {
	case BackendCLI:
		if len(b.Command) == 0 {
			return cfg, fmt.Errorf("%w: agent %s: the cli backend needs a command", ErrConfig, s.Name)
		}
		cli := &CLI{Command: b.Command, PromptArg: b.PromptArg,
			Env: []string{"AGENT_NAME=" + s.Name, "MISSION=" + cfg.Mission, "AGENTCHAT_URL=" + cfg.URL}}
		if b.MCP {
			if len(mcpCommand) == 0 {
				return cfg, fmt.Errorf("%w: no agentchat command for the MCP config", ErrConfig)
			}
			cli.MCPCommand = mcpCommand
		}
		cfg.Backend = cli
	case BackendOpenAI, BackendAnthropic:
		api, err := b.api(getenv)
		if err != nil {
			return cfg, fmt.Errorf("%w: agent %s: %v", ErrConfig, s.Name, err)
		}
		if b.Type == BackendOpenAI {
			cfg.Backend = &OpenAI{API: api}
		} else {
			cfg.Backend = &Anthropic{API: api}
		}
	default:
		return cfg, fmt.Errorf("%w: agent %s: backend type %q: want cli, openai or anthropic", ErrConfig, s.Name, b.Type)
	}
	return cfg, nil
}

// Check reports whether s makes a usable session with getenv's
// environment, as Run would judge it, without starting anything: the
// supervisor checks its whole config before it starts a runner.
func (s Spec) Check(getenv func(string) string, home string) error {
	cfg, err := s.Config(getenv, home, []string{"agentchat", "mcp"})
	if err != nil {
		return err
	}
	_, err = cfg.withDefaults()
	return err
}

// api builds an API backend's settings.
func (b BackendSpec) api(getenv func(string) string) (API, error) {
	baseEnv, keyEnv := "OPENAI_BASE_URL", "OPENAI_API_KEY"
	if b.Type == BackendAnthropic {
		baseEnv, keyEnv = "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"
	}
	a := API{BaseURL: b.BaseURL, Model: b.Model, MaxTokens: b.MaxTokens}
	if a.BaseURL == "" {
		a.BaseURL = getenv(baseEnv)
	}
	if a.Model == "" {
		return a, fmt.Errorf("the %s backend needs a model (model, or AGENT_MODEL)", b.Type)
	}
	switch {
	case b.KeyFile != "":
		data, err := os.ReadFile(b.KeyFile)
		if err != nil {
			return a, fmt.Errorf("key file: %v", err)
		}
		a.Key = strings.TrimSpace(string(data))
	case b.KeyEnv != "":
		a.Key = getenv(b.KeyEnv)
	default:
		a.Key = getenv(keyEnv)
	}
	return a, nil
}

// Duration is a time.Duration that JSON spells as a Go duration string
// ("90s", "5m") or a number of seconds.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var secs float64
	if err := json.Unmarshal(b, &secs); err == nil {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"90s\" or a number of seconds")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %v", s, err)
	}
	*d = Duration(v)
	return nil
}

// mcpConfigFile is the cli backend's MCP config in the state directory.
const mcpConfigFile = "mcp.json"

// journalFile is where a cli backend's MCP server journals its tool
// calls, for the runner to count and record after each turn.
const journalFile = "tools.jsonl"

// writeMCPConfig writes the MCP config a tool-using CLI reads: one server,
// agentchat, running `agentchat mcp` against the agent's node with the
// session's tool selection and the journal in dir.
func writeMCPConfig(dir string, command []string, url string, allow []string) (string, error) {
	path := filepath.Join(dir, mcpConfigFile)
	env := mcp.ToolsEnv(serverTools(allow))
	env["AGENTCHAT_JOURNAL"] = filepath.Join(dir, journalFile)
	env["AGENTCHAT_URL"], env["AGENTCHAT_PUBLIC"] = url, "true"
	cfg := map[string]any{"mcpServers": map[string]any{"agentchat": map[string]any{
		"command": command[0], "args": command[1:], "env": env,
	}}}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	return path, WriteFileAtomic(path, append(b, '\n'))
}
