package supervisor

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContainerCommand pins the container invocation: state and identity
// directories mounted at the same paths, host network, variables passed
// by name only, then the image running `agentchat run` with the runner's
// arguments.
func TestContainerCommand(t *testing.T) {
	c := &Container{Runtime: "podman", Image: "ghcr.io/x/agentchat:1", Args: []string{"--memory", "1g"}}
	got := c.command("alice", "/h/.agentchat/agents/alice", "/h", []string{"--home", "/h", "--spec", "/h/.agentchat/agents/alice/agent.json"}, []string{"MY_KEY"})
	want := []string{"podman", "run", "--rm", "--name", "agentchat-alice", "--network", "host",
		"-v", "/h/.agentchat/agents/alice:/h/.agentchat/agents/alice", "-v", "/h/.agentchat/identities:/h/.agentchat/identities",
		"-e", "AGENT_NAME=alice", "-e", "STATE_DIR=/h/.agentchat/agents/alice"}
	for _, k := range passEnv {
		want = append(want, "-e", k)
	}
	want = append(want, "-e", "MY_KEY", "--memory", "1g", "ghcr.io/x/agentchat:1", "agentchat", "run",
		"--home", "/h", "--spec", "/h/.agentchat/agents/alice/agent.json")
	require.Equal(t, want, got)
	for _, a := range got {
		require.NotContains(t, a, "=sk-", "no secret value in the arguments")
	}
}

// TestContainerRuntimeMissing pins the error when the CLI is not
// installed (this machine has neither docker nor podman on an empty PATH).
func TestContainerRuntimeMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := (&Container{Runtime: "docker", Image: "img"}).check()
	require.ErrorIs(t, err, ErrNoRuntime)
	require.ErrorContains(t, err, "docker is not installed or not on PATH")
	require.ErrorIs(t, (&Container{Runtime: "docker"}).check(), ErrConfig, "an image is required")
}
