package mcp

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agentchat/mesh/agent/client"
)

// Defaults of the zero Config fields, and the fixed limits of
// agentchat_listen (PROTOCOL.md §22).
const (
	// DefaultURL is the node URL without AGENTCHAT_URL.
	DefaultURL = "ws://localhost:6667"
	// DefaultListenWait bounds an agentchat_listen call that names no
	// max_wait_s; it is applied with ±10 % jitter so that agents woken
	// together do not call back in lockstep.
	DefaultListenWait = 300 * time.Second
	// MaxListenWait is the largest max_wait_s accepted (the original's
	// enforced bound).
	MaxListenWait = time.Hour
	// DefaultSettle is the settle window (AGENTCHAT_SETTLE_MS): after the
	// first matching message arrives, listen waits this long for a burst to
	// complete before returning.
	DefaultSettle = 1500 * time.Millisecond
	// DefaultInboxMessages and DefaultInboxChars bound the in-memory inbox;
	// past either, the oldest messages are dropped and counted.
	DefaultInboxMessages = 1000
	DefaultInboxChars    = 4 << 20
	// MaxListenMessages and MaxListenChars bound one listen result; what
	// does not fit stays in the inbox for the next call.
	MaxListenMessages = 50
	MaxListenChars    = 32000
)

// Config configures a Server. Every field has a usable zero value,
// documented on the field.
type Config struct {
	// URL is the node's websocket URL. "" means DefaultURL. A host that is
	// not loopback needs Public (PROTOCOL.md §22).
	URL string
	// Public allows a non-loopback URL (AGENTCHAT_PUBLIC=true).
	Public bool
	// Home is the directory holding .agentchat (identities live in
	// <Home>/.agentchat/identities). "" means the user's home directory.
	Home string
	// Logger receives the server's logs; nil discards them. stdout carries
	// the MCP protocol, so a CLI must log to stderr.
	Logger *slog.Logger
	// Version is reported to the MCP host; "" means "dev".
	Version string

	// ListenWait bounds agentchat_listen when the call names no max_wait_s.
	// Zero means DefaultListenWait.
	ListenWait time.Duration
	// Settle is the settle window of agentchat_listen. Zero means
	// DefaultSettle; negative means none.
	Settle time.Duration
	// InboxMessages and InboxChars bound the inbox. Zero means the defaults.
	InboxMessages int
	InboxChars    int

	// ClientOptions, if set, adjusts the options of every connection the
	// server dials (tests shorten timers with it).
	ClientOptions func(*client.Options)

	// Tools, if not nil, are the only tools offered (AGENTCHAT_TOOLS, when
	// not empty);
	// HideTools are never offered (AGENTCHAT_HIDE_TOOLS). New refuses a
	// name that is no tool of this build (ErrUnknownTool). An unattended
	// host (the agent runner) uses them to keep tools from its model.
	Tools     []string
	HideTools []string
	// Journal, if set, is a file every tool call is appended to as one
	// JSON line (AGENTCHAT_JOURNAL; see JournalEntry), so that the program
	// which started the host can see what its tools did.
	Journal string
}

// ConfigFromEnv reads the environment an MCP host passes (PROTOCOL.md §22):
// AGENTCHAT_URL, AGENTCHAT_PUBLIC and AGENTCHAT_SETTLE_MS, and the
// runner's AGENTCHAT_TOOLS and AGENTCHAT_HIDE_TOOLS (comma-separated tool
// names) and AGENTCHAT_JOURNAL. getenv is usually os.Getenv. It fails
// when the URL is not loopback and AGENTCHAT_PUBLIC is not "true".
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{URL: getenv("AGENTCHAT_URL"), Public: getenv("AGENTCHAT_PUBLIC") == "true",
		Tools: toolList(getenv("AGENTCHAT_TOOLS")), HideTools: toolList(getenv("AGENTCHAT_HIDE_TOOLS")),
		Journal: getenv("AGENTCHAT_JOURNAL")}
	if v := getenv("AGENTCHAT_SETTLE_MS"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			return cfg, fmt.Errorf("AGENTCHAT_SETTLE_MS=%q: want a number of milliseconds", v)
		}
		cfg.Settle = time.Duration(ms) * time.Millisecond
		if ms == 0 {
			cfg.Settle = -1
		}
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	return cfg, CheckURL(cfg.URL, cfg.Public)
}

// CheckURL checks a node URL and, unless public is set, that its host is
// loopback ("localhost", 127.0.0.0/8 or ::1): an MCP server reaching a
// remote node must be allowed explicitly with AGENTCHAT_PUBLIC=true.
func CheckURL(raw string, public bool) error {
	norm, err := client.NormalizeURL(raw)
	if err != nil {
		return err
	}
	if public {
		return nil
	}
	u, err := url.Parse(norm)
	if err != nil {
		return fmt.Errorf("node URL %q: %w", raw, err)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("node URL %q: %w", raw, ErrNotLoopback)
	}
	return nil
}

// toolList splits a comma-separated list of tool names; "" is nil.
func toolList(v string) []string {
	var out []string
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// ToolsEnv is the environment that gives `agentchat mcp` this tool
// selection (ConfigFromEnv reads it back).
func ToolsEnv(tools, hide []string) map[string]string {
	env := map[string]string{}
	if len(tools) > 0 {
		env["AGENTCHAT_TOOLS"] = strings.Join(tools, ",")
	}
	if len(hide) > 0 {
		env["AGENTCHAT_HIDE_TOOLS"] = strings.Join(hide, ",")
	}
	return env
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withDefaults checks c and returns a copy with the zero fields filled in.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if err := CheckURL(c.URL, c.Public); err != nil {
		return c, err
	}
	if c.Home == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return c, fmt.Errorf("mcp config: no home directory for ~/.agentchat: %w", err)
		}
		c.Home = home
	}
	home, err := filepath.Abs(c.Home)
	if err != nil {
		return c, fmt.Errorf("mcp config: home %q: %w", c.Home, err)
	}
	c.Home = home
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.ListenWait <= 0 {
		c.ListenWait = DefaultListenWait
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Settle < 0 {
		c.Settle = 0
	}
	if c.InboxMessages <= 0 {
		c.InboxMessages = DefaultInboxMessages
	}
	if c.InboxChars <= 0 {
		c.InboxChars = DefaultInboxChars
	}
	return c, nil
}

// agentchatDir is <Home>/.agentchat, the only directory identity files may
// come from.
func (c Config) agentchatDir() string { return filepath.Join(c.Home, ".agentchat") }
