package runner

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/agentchat/mesh/agent/mcp"
	"github.com/agentchat/mesh/protocol"
)

// Defaults of the zero Config fields.
const (
	// DefaultMaxTranscript is how many transcript lines go into a prompt
	// (MAX_TRANSCRIPT).
	DefaultMaxTranscript = 200
	// DefaultTranscriptKeep is how many lines transcript.jsonl keeps (it
	// grows to twice that before it is trimmed).
	DefaultTranscriptKeep = 1000
	// DefaultListenWait bounds one wait for messages; the guards are
	// checked between waits.
	DefaultListenWait = 30 * time.Second
)

// DefaultChannels are joined when the Config names none.
var DefaultChannels = []string{"#general"}

// Config configures one session. Name, Mission and Backend are required;
// every other field has a usable zero value, documented on it.
type Config struct {
	// Name is the agent's name; its persistent identity is
	// <Home>/.agentchat/identities/<Name>.json (created if missing), the
	// same file `agentchat mcp` uses for that name.
	Name string
	// Mission is what the agent is for; it leads every prompt.
	Mission string
	// URL is the node's websocket URL; "" means mcp.DefaultURL. A host
	// that is not loopback needs Public.
	URL    string
	Public bool
	// Channels are joined at the start; nil means DefaultChannels.
	Channels []string
	// Home holds .agentchat; "" means the user's home directory.
	Home string
	// StateDir is the agent's state directory; "" means
	// <Home>/.agentchat/agents/<Name>.
	StateDir string
	// Backend answers the turns.
	Backend Backend
	// MaxTranscript is how many transcript lines a prompt carries; zero
	// means DefaultMaxTranscript, negative none.
	MaxTranscript int
	// TranscriptKeep bounds transcript.jsonl; zero means
	// DefaultTranscriptKeep (and at least MaxTranscript).
	TranscriptKeep int
	// Guards bound the session.
	Guards Guards
	// Tools, if not nil, are the only agentchat tools the backend gets
	// (the spec's "tools"); nil means all but RestrictedTools. The runner's
	// own agentchat_connect and agentchat_listen cannot be listed.
	Tools []string
	// ListenWait bounds one wait for messages; zero means
	// DefaultListenWait.
	ListenWait time.Duration
	// Logger receives the runner's logs; nil discards them.
	Logger *slog.Logger
	// MCP, if set, adjusts the configuration of the in-process MCP server
	// (tests shorten its settle window and client timers).
	MCP func(*mcp.Config)
	// Now is the clock of the guards; nil means time.Now.
	Now func() time.Time
}

// withDefaults checks c and fills in its zero fields. Every failure wraps
// ErrConfig.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" || len(c.Name) > protocol.NickMax || !protocol.ValidName(c.Name) {
		return c, fmt.Errorf("%w: agent name %q: use 1-%d letters, digits, '-' or '_'", ErrConfig, c.Name, protocol.NickMax)
	}
	if c.Mission == "" {
		return c, fmt.Errorf("%w: agent %s has no mission", ErrConfig, c.Name)
	}
	if c.Backend == nil {
		return c, fmt.Errorf("%w: agent %s has no backend", ErrConfig, c.Name)
	}
	if c.URL == "" {
		c.URL = mcp.DefaultURL
	}
	if err := mcp.CheckURL(c.URL, c.Public); err != nil {
		return c, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if len(c.Channels) == 0 {
		c.Channels = DefaultChannels
	}
	if c.Home == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return c, fmt.Errorf("%w: no home directory: %v", ErrConfig, err)
		}
		c.Home = home
	}
	if c.StateDir == "" {
		c.StateDir = AgentDir(c.Home, c.Name)
	}
	if c.MaxTranscript == 0 {
		c.MaxTranscript = DefaultMaxTranscript
	}
	if c.MaxTranscript < 0 {
		c.MaxTranscript = 0
	}
	if c.TranscriptKeep <= 0 {
		c.TranscriptKeep = DefaultTranscriptKeep
	}
	c.TranscriptKeep = max(c.TranscriptKeep, c.MaxTranscript, 1)
	c.Guards = c.Guards.withDefaults()
	if err := checkTools(c.Tools); err != nil {
		return c, err
	}
	if _, err := mcp.New(c.serverConfig()); err != nil {
		return c, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if c.ListenWait <= 0 {
		c.ListenWait = DefaultListenWait
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// serverConfig is the configuration of the session's in-process MCP
// server.
func (c Config) serverConfig() mcp.Config {
	mcfg := mcp.Config{URL: c.URL, Public: c.Public, Home: c.Home, Logger: c.Logger}
	mcfg.Tools, mcfg.HideTools = serverTools(c.Tools)
	if c.MCP != nil {
		c.MCP(&mcfg)
	}
	return mcfg
}

// AgentsDir holds the agents' state directories under home (PROTOCOL.md
// §23: ~/.agentchat/agents).
func AgentsDir(home string) string { return filepath.Join(home, ".agentchat", "agents") }

// AgentDir is an agent's state directory under home.
func AgentDir(home, name string) string { return filepath.Join(AgentsDir(home), name) }
