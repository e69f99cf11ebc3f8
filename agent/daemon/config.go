package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
)

// Defaults of the zero Config fields (PROTOCOL.md §20).
const (
	DefaultInstance         = "default"
	DefaultMaxReconnectTime = 10 * time.Minute
	DefaultPollInterval     = 500 * time.Millisecond
	// DefaultMsgSpacing keeps MSGs just above the node's one per second.
	DefaultMsgSpacing  = 1050 * time.Millisecond
	DefaultInboxLines  = 1000
	DefaultMaxAttempts = 20
)

// DefaultChannels are joined when Config.Channels is nil. The original's
// #code-review and #servers do not exist on a default node and are left out.
var DefaultChannels = []string{"#general", "#agents"}

// Config configures a Daemon. Every field but URL has a usable zero value,
// documented on the field.
type Config struct {
	// URL is the node's websocket URL. Required.
	URL string
	// Instance names the instance directory; it is stripped to
	// [A-Za-z0-9_-], and "" (or nothing left) means "default".
	Instance string
	// BaseDir holds the instance directories. "" means
	// ~/.agentchat/daemons (DefaultBaseDir).
	BaseDir string
	// Identity is the agent's key pair; nil means an ephemeral agent, with a
	// new ID on every connection.
	Identity *identity.File
	// Name is the IDENTIFY name; "" means the identity's name, else
	// agent-<pid>.
	Name string
	// Channels are joined at start and re-joined after each reconnect. nil
	// means DefaultChannels; an empty non-nil slice joins none. Channels the
	// node refuses (CHANNEL_NOT_FOUND, …) are logged once and skipped.
	Channels []string

	// MaxReconnectTime is how long the daemon keeps trying to reach the node
	// (at start and after a drop) before Run fails with ErrGaveUp. Zero
	// means 10 minutes.
	MaxReconnectTime time.Duration
	// ReconnectMin and ReconnectMax shape the delay before attempt n:
	// min(ReconnectMin × 2^(n−1), ReconnectMax) plus a jitter below
	// ReconnectMin/2. Zero means 2 s and 60 s (§20).
	ReconnectMin, ReconnectMax time.Duration
	// CallTimeout bounds each request to the node. Zero means the client's
	// 10 s.
	CallTimeout time.Duration

	// PollInterval is how often the outbox is checked. Zero means 500 ms.
	PollInterval time.Duration
	// MsgSpacing is the least time between two MSGs. Zero means 1.05 s;
	// negative means no spacing (for nodes without rate limits).
	MsgSpacing time.Duration
	// RateLimit is passed to the client (frames per 10 s). Zero means the
	// client's default; negative turns the client's pacing off.
	RateLimit int
	// MaxAttempts is how many times in a row the node may refuse one outbox
	// line with a non-permanent error (other than RATE_LIMITED) before the
	// line is rejected. Zero means 20.
	MaxAttempts int
	// InboxLines is how many lines the inbox keeps. Zero means 1000.
	InboxLines int

	// LogLevel is the lowest level written to daemon.log; the zero value is
	// Info.
	LogLevel slog.Level
	// Logger, if set, receives every daemon.log record too (the CLI's
	// stderr in the foreground).
	Logger *slog.Logger
}

// DefaultBaseDir returns ~/.agentchat/daemons, or ./.agentchat/daemons
// without a home directory.
func DefaultBaseDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".agentchat", "daemons")
}

// SanitizeInstance strips name to [A-Za-z0-9_-]; nothing left means
// "default".
func SanitizeInstance(name string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return -1
	}, name)
	if s == "" {
		return DefaultInstance
	}
	return s
}

// InstanceDir returns the directory of an instance under base ("" means
// DefaultBaseDir).
func InstanceDir(base, instance string) string {
	if base == "" {
		base = DefaultBaseDir()
	}
	return filepath.Join(base, SanitizeInstance(instance))
}

// withDefaults checks c and returns a copy with the zero fields filled in.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		return c, errors.New("daemon config: URL is required")
	}
	u, err := client.NormalizeURL(c.URL)
	if err != nil {
		return c, fmt.Errorf("daemon config: %w", err)
	}
	c.URL = u
	c.Instance = SanitizeInstance(c.Instance)
	if c.BaseDir == "" {
		c.BaseDir = DefaultBaseDir()
	}
	if c.Channels == nil {
		c.Channels = DefaultChannels
	}
	c.Channels = append([]string(nil), c.Channels...)
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MaxReconnectTime, DefaultMaxReconnectTime)
	def(&c.ReconnectMin, client.DefaultReconnectMin)
	def(&c.ReconnectMax, client.DefaultReconnectMax)
	def(&c.CallTimeout, client.DefaultCallTimeout)
	def(&c.PollInterval, DefaultPollInterval)
	def(&c.MsgSpacing, DefaultMsgSpacing)
	if c.ReconnectMin < 0 || c.ReconnectMax < 0 || c.PollInterval < 0 || c.MaxReconnectTime < 0 || c.CallTimeout < 0 {
		return c, errors.New("daemon config: durations other than MsgSpacing must not be negative")
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.InboxLines <= 0 {
		c.InboxLines = DefaultInboxLines
	}
	return c, nil
}
