package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/agent/runner"
)

// runCommand is `agentchat run`: one session of an agent (agent/runner),
// from a spec file or flags. Its exit code tells a supervisor what to do:
// 0 stopped, 1 crashed, 2 bad configuration (do not restart), 3 ended by a
// guard.
func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run one session of an AI agent on the mesh with a cli or API backend",
		Description: "Connects as the agent (identity ~/.agentchat/identities/<name>.json), joins its channels and " +
			"drives the backend with the mission, the recent transcript and new messages. State: " +
			"~/.agentchat/agents/<name>/ (transcript.jsonl, session.json). Environment (PROTOCOL.md §23): " +
			"AGENTCHAT_URL, AGENTCHAT_PUBLIC, MISSION, AGENT_RUNTIME, AGENT_MODEL, OPENAI_BASE_URL, OPENAI_API_KEY, " +
			"ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY, MAX_TRANSCRIPT. Exit codes: 0 stopped, 1 crashed, " +
			"2 bad configuration, 3 ended by a guard.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "agent spec file (JSON; the supervisor writes one per agent)"},
			&cli.StringFlag{Name: "home", Usage: "directory holding .agentchat (default: your home directory)"},
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "agent name (without --spec)"},
			&cli.StringFlag{Name: "mission", Usage: "what the agent is for (default MISSION)"},
			&cli.StringFlag{Name: "url", Usage: "node URL (default AGENTCHAT_URL, else ws://localhost:6667)"},
			&cli.StringSliceFlag{Name: "channel", Aliases: []string{"c"}, Usage: "channel to join (repeatable; default #general)"},
			&cli.StringFlag{Name: "backend", Usage: "cli, openai or anthropic (default AGENT_RUNTIME)"},
			&cli.StringFlag{Name: "command", Usage: "cli backend: the command, split on spaces (e.g. \"claude -p\")"},
			&cli.BoolFlag{Name: "prompt-arg", Usage: "cli backend: pass the prompt as the last argument, not on stdin"},
			&cli.BoolFlag{Name: "mcp", Usage: "cli backend: write mcp.json for `agentchat mcp` and substitute {mcp_config}"},
			&cli.StringFlag{Name: "model", Usage: "API backends: model (default AGENT_MODEL)"},
			&cli.StringFlag{Name: "base-url", Usage: "API backends: base URL (default OPENAI_BASE_URL or ANTHROPIC_BASE_URL)"},
			&cli.StringFlag{Name: "key-file", Usage: "API backends: file holding the API key (default: the key's variable)"},
		},
		Action: runAction,
	}
}

func runAction(c *cli.Context) error {
	log, err := newLogger(c)
	if err != nil {
		return cli.Exit(err, runner.ExitFatal)
	}
	spec, err := specFromFlags(c)
	if err != nil {
		return cli.Exit(err, runner.ExitFatal)
	}
	self, err := os.Executable()
	if err != nil {
		return cli.Exit(err, runner.ExitFatal)
	}
	cfg, err := spec.Config(os.Getenv, c.String("home"), []string{self, "mcp"})
	if err != nil {
		return cli.Exit(err, runner.ExitFatal)
	}
	cfg.Logger = log
	err = runner.Run(c.Context, cfg)
	if code := runner.ExitCode(err); code != runner.ExitClean {
		return cli.Exit(fmt.Sprintf("agentchat run: %v", err), code)
	}
	return nil
}

// specFromFlags reads --spec, or builds a spec from the flags.
func specFromFlags(c *cli.Context) (runner.Spec, error) {
	if path := c.String("spec"); path != "" {
		for _, f := range []string{"name", "mission", "url", "channel", "backend", "command", "model", "base-url", "key-file"} {
			if c.IsSet(f) {
				return runner.Spec{}, fmt.Errorf("%w: --%s and --spec do not mix; put it in the spec file", runner.ErrConfig, f)
			}
		}
		return runner.ReadSpec(path)
	}
	if c.String("name") == "" {
		return runner.Spec{}, errors.New("agentchat run: give --spec FILE or --name")
	}
	return runner.Spec{Name: c.String("name"), Mission: c.String("mission"), URL: c.String("url"),
		Channels: c.StringSlice("channel"),
		Backend: runner.BackendSpec{Type: c.String("backend"), Command: strings.Fields(c.String("command")),
			PromptArg: c.Bool("prompt-arg"), MCP: c.Bool("mcp"), Model: c.String("model"), BaseURL: c.String("base-url"),
			KeyFile: c.String("key-file")}}, nil
}
