package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agentchat/mesh/agent/daemon"
)

// CLI is the "cli" backend: any command that reads a prompt and writes a
// reply (`claude -p`, `llm`, a script). The prompt is the system text, a
// blank line and the turn's prompt, on stdin or, with PromptArg, as the
// last argument; the reply is stdout, trimmed. A non-zero exit fails the
// turn with the end of stderr. The command runs in its own process group,
// killed when the turn ends: nothing it starts outlives its turn (on
// Linux it is also killed if the runner dies).
type CLI struct {
	// Command is the program and its arguments. An argument "{mcp_config}"
	// is replaced by the path of an MCP config that runs `agentchat mcp`
	// against the agent's node, for CLIs that take one (claude
	// --mcp-config).
	Command []string
	// PromptArg passes the prompt as the last argument instead of stdin.
	PromptArg bool
	// Env is added to the command's environment (the runner adds
	// AGENT_NAME, MISSION, AGENTCHAT_URL and STATE_DIR).
	Env []string
	// Dir is the command's working directory; "" is the state directory.
	Dir string
	// MCPCommand, if set, is the command serving `agentchat mcp`: the
	// session writes mcp.json in the state directory, running it against
	// the agent's node, and substitutes its path for "{mcp_config}".
	MCPCommand []string

	// Set by prepare for the session; the exported fields are left as
	// they are, so one CLI value (and its Env slice) can serve several.
	dir       string
	env       []string
	mcpConfig string // the path of mcp.json
}

// prepare readies the command for a session of cfg: its directory, its
// environment and its MCP config.
func (c *CLI) prepare(cfg Config) error {
	c.dir = c.Dir
	if c.dir == "" {
		c.dir = cfg.StateDir
	}
	c.env = append(slices.Clip(c.Env), "STATE_DIR="+cfg.StateDir)
	if len(c.MCPCommand) == 0 {
		return nil
	}
	path, err := writeMCPConfig(cfg.StateDir, c.MCPCommand, cfg.URL, cfg.Tools)
	if err != nil {
		return fmt.Errorf("write MCP config: %w", err)
	}
	c.mcpConfig = path
	return nil
}

// maxCLIOutput bounds what a command's stdout may hold; more fails the turn.
const maxCLIOutput = 1 << 20

// cliWaitDelay is how long a canceled command has to exit after SIGKILL
// before its pipes are closed under it.
const cliWaitDelay = 5 * time.Second

// Turn runs the command once.
func (c *CLI) Turn(ctx context.Context, t Turn, _ Tools) (Reply, error) {
	if len(c.Command) == 0 {
		return Reply{}, fmt.Errorf("%w: cli backend needs a command", ErrConfig)
	}
	prompt := t.System + "\n\n" + t.Prompt
	args := make([]string, 0, len(c.Command))
	for _, a := range c.Command[1:] {
		args = append(args, strings.ReplaceAll(a, "{mcp_config}", c.mcpConfig))
	}
	if c.PromptArg {
		args = append(args, prompt)
	}
	cmd := exec.CommandContext(ctx, c.Command[0], args...)
	cmd.Env = append(cmd.Environ(), c.env...)
	cmd.Dir = c.dir
	cmd.WaitDelay = cliWaitDelay
	daemon.OwnGroup(cmd, syscall.SIGKILL)
	cmd.Cancel = func() error {
		if err := daemon.SignalGroup(cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill() // no group here
		}
		return nil
	}
	if !c.PromptArg {
		cmd.Stdin = strings.NewReader(prompt)
	}
	var stdout limitedBuffer
	stdout.max = maxCLIOutput
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
		_ = daemon.SignalGroup(cmd.Process.Pid, syscall.SIGKILL) // what it left running
	}
	if ctx.Err() != nil {
		return Reply{}, ctx.Err()
	}
	if stdout.over {
		return Reply{}, fmt.Errorf("%w: %s wrote more than %d bytes", ErrBackend, c.Command[0], maxCLIOutput)
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return Reply{}, fmt.Errorf("%w: %s exited with %d: %s", ErrBackend, c.Command[0], exit.ExitCode(), stderr.String())
		}
		return Reply{}, fmt.Errorf("%w: run %s: %v", ErrBackend, c.Command[0], err)
	}
	out := strings.TrimSpace(stdout.String())
	return Reply{Text: out, Tokens: estimateTokens(prompt, out)}, nil
}

// limitedBuffer keeps up to max bytes and notes that more came.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// tailBuffer keeps the last 2 KiB written, for error messages.
type tailBuffer struct{ b []byte }

const stderrTail = 2048

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > stderrTail {
		t.b = t.b[len(t.b)-stderrTail:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }
