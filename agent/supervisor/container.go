package supervisor

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Container runs each runner inside a container: `<runtime> run` with the
// agent's state directory and identities mounted at the same paths, the
// host's network (the node is usually on localhost), and the environment
// the runner reads passed by name (so keys never appear in arguments).
// The image must have agentchat on its PATH.
type Container struct {
	// Runtime is "docker" or "podman".
	Runtime string `json:"runtime"`
	// Image is the image to run.
	Image string `json:"image"`
	// Args are extra arguments of `run`, before the image.
	Args []string `json:"args,omitempty"`
}

// passEnv are the variables a containerised runner gets from the
// supervisor's environment (PROTOCOL.md §23's names and the API keys).
var passEnv = []string{"AGENTCHAT_URL", "AGENTCHAT_PUBLIC", "AGENT_MODEL", "AGENT_RUNTIME", "MISSION", "MAX_TRANSCRIPT",
	"OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"}

// check fails when the runtime is not one we know or its CLI is missing.
func (c *Container) check() error {
	if c.Runtime != "docker" && c.Runtime != "podman" {
		return fmt.Errorf("%w: container runtime %q: want docker or podman", ErrConfig, c.Runtime)
	}
	if c.Image == "" {
		return fmt.Errorf("%w: container needs an image", ErrConfig)
	}
	if _, err := exec.LookPath(c.Runtime); err != nil {
		return fmt.Errorf("%w: %s is not installed or not on PATH (needed by --container %s)", ErrNoRuntime, c.Runtime, c.Runtime)
	}
	return nil
}

// command is the container invocation of the runner of agent name, whose
// state directory is dir, with runnerArgs after `agentchat run`; extraEnv
// names variables to pass besides passEnv (a spec's key_env).
func (c *Container) command(name, dir, home string, runnerArgs, extraEnv []string) []string {
	idDir := filepath.Join(home, ".agentchat", "identities")
	args := []string{c.Runtime, "run", "--rm", "--name", containerName(name), "--network", "host",
		"-v", dir + ":" + dir, "-v", idDir + ":" + idDir,
		"-e", "AGENT_NAME=" + name, "-e", "STATE_DIR=" + dir}
	for _, k := range append(append([]string(nil), passEnv...), extraEnv...) {
		args = append(args, "-e", k)
	}
	args = append(args, c.Args...)
	args = append(args, c.Image, "agentchat", "run")
	return append(args, runnerArgs...)
}

// containerName is the name of agent name's container.
func containerName(name string) string { return "agentchat-" + name }

// remove force-removes agent name's container (`<runtime> rm -f`),
// stopping it if it runs, and returns the CLI's output.
func (c *Container) remove(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, c.Runtime, "rm", "-f", containerName(name)).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
