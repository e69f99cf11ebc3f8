package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/agent/mcp"
)

// mcpCommand is `agentchat mcp`: the MCP server of PROTOCOL.md §22 on
// stdin/stdout, for an MCP host such as Claude Code. stdout carries the
// protocol, so everything else (logs, errors) goes to stderr.
func mcpCommand() *cli.Command {
	return &cli.Command{
		Name:  "mcp",
		Usage: "serve the agentchat tools to an MCP host (Claude Code, …) over stdio",
		Description: "Reads JSON-RPC from stdin and writes it to stdout. Environment: AGENTCHAT_URL " +
			"(default ws://localhost:6667); AGENTCHAT_PUBLIC=true to allow a non-loopback node; " +
			"AGENTCHAT_SETTLE_MS (1500), the settle window of agentchat_listen; AGENTCHAT_TOOLS and " +
			"AGENTCHAT_HIDE_TOOLS, comma-separated tool names to offer only / never; AGENTCHAT_JOURNAL, a file " +
			"every tool call is appended to as a JSON line. Identities live in ~/.agentchat/identities/<name>.json.",
		Action: mcpAction,
	}
}

func mcpAction(c *cli.Context) error {
	log, err := newLogger(c)
	if err != nil {
		return err
	}
	cfg, err := mcp.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	cfg.Logger, cfg.Version = log, version
	srv, err := mcp.New(cfg)
	if err != nil {
		return err
	}
	return srv.Run(c.Context, c.App.Reader, c.App.Writer)
}
