package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"

	"github.com/agentchat/mesh/agent/daemon"
)

// agentchat_inbox reads the inbox of an agentchat daemon running on this
// machine (PROTOCOL.md §20, §22): ~/.agentchat/daemons/<instance>/inbox.jsonl,
// which holds the frames the daemon received, one JSON per line. It needs
// no connection.

type inboxArgs struct {
	Lines    int    `json:"lines,omitempty" jsonschema:"how many of the newest lines to return (default 50, at most 1000)"`
	Instance string `json:"instance,omitempty" jsonschema:"daemon instance (default \"default\")"`
}

// Bounds of agentchat_inbox.
const (
	defaultInboxLines = 50
	maxInboxLines     = 1000 // the daemon keeps no more
)

func (s *Server) registerInboxTool() {
	addTool(s, "agentchat_inbox", "Read the newest frames an agentchat daemon on this machine received (its inbox.jsonl).", s.daemonInbox)
}

func (s *Server) daemonInbox(_ context.Context, a inboxArgs) (any, error) {
	n := a.Lines
	if n <= 0 {
		n = defaultInboxLines
	}
	n = min(n, maxInboxLines)
	path := filepath.Join(daemon.InstanceDir(filepath.Join(s.cfg.agentchatDir(), "daemons"), a.Instance), "inbox.jsonl")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no daemon inbox at %s (no daemon has run as instance %q)", path, daemon.SanitizeInstance(a.Instance))
	}
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for line := range bytes.Lines(data) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			lines = append(lines, line)
		}
	}
	// The newest n lines that parse, within MaxListenChars, oldest first.
	var msgs []json.RawMessage
	used := 0
	for i := len(lines) - 1; i >= 0 && len(msgs) < n; i-- {
		if !json.Valid(lines[i]) {
			continue
		}
		c := utf8.RuneCount(lines[i])
		if used+c > MaxListenChars && len(msgs) > 0 {
			break
		}
		used += c
		msgs = append(msgs, json.RawMessage(lines[i]))
	}
	slices.Reverse(msgs)
	return map[string]any{"messages": nonNil(msgs), "total_lines": len(lines), "returned_lines": len(msgs)}, nil
}
