package runner_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
)

// echoScript is a cli backend: it saves each prompt (to prompts/<n>) and
// answers the newest message with "heard: <its text>", or PASS on a turn
// without messages.
const echoScript = `dir="$STATE_DIR/prompts"; mkdir -p "$dir"
n=$(ls "$dir" | wc -l); prompt=$(cat); printf '%s' "$prompt" > "$dir/$n"
last=$(printf '%s\n' "$prompt" | tail -n 1)
case "$prompt" in *"no new messages yet"*) echo PASS; exit 0;; esac
echo "heard: ${last##*: }"
`

// TestCLIBackendConverses runs a session with a shell-script backend on a
// real node: a peer's message reaches the script with the mission, the
// script's answer comes back to the peer in #general, and the transcript
// records both. The opening turn sees what was said before the agent came.
func TestCLIBackendConverses(t *testing.T) {
	url := startNode(t)
	bob := dialPeer(t, url, "bob")
	require.NoError(t, bob.Send(t.Context(), "#general", "said before you came"))
	cfg := baseConfig(t, url, "echo", &runner.CLI{Command: []string{"/bin/sh", script(t, echoScript)}})
	stop, _ := runAsync(t, cfg)
	id := bob.waitJoined(t, "echo")
	require.NoError(t, bob.Send(t.Context(), "#general", "hello runner"))
	got := bob.waitMsg(t, "heard: hello runner")
	require.Equal(t, id, got.From)
	require.Equal(t, "#general", got.To)
	require.NoError(t, stop(), "a canceled session is a clean stop")

	dir := runner.AgentDir(cfg.Home, "echo")
	first, err := os.ReadFile(filepath.Join(dir, "prompts", "0"))
	require.NoError(t, err)
	require.Contains(t, string(first), "Answer every message briefly.", "the mission leads the prompt")
	history, fresh, _ := strings.Cut(string(first), "New messages:")
	require.Contains(t, history, "(bob) -> #general: said before you came", "the opening turn sees the channel's history")
	if !strings.Contains(history, "no new messages yet") {
		require.Contains(t, fresh, "hello runner", "the opening turn has no messages, or the one that came with the history")
	}

	var kinds []string
	for _, e := range transcript(t, cfg) {
		kinds = append(kinds, e.Kind+":"+e.Content)
	}
	require.Contains(t, kinds, "in:hello runner")
	require.Contains(t, kinds, "out:heard: hello runner")
	s, err := runner.ReadSession(dir)
	require.NoError(t, err)
	require.Equal(t, 1, s.Num)
	require.Equal(t, runner.EndStopped, s.EndedBy)
	require.Equal(t, 1, s.Sends)
	require.Positive(t, s.Tokens, "a command's tokens are estimated")
}

// echoSession runs a first session of an echo agent in which bob asks
// question and gets the answer, then stops it and clears its saved
// prompts; it returns the agent's config and state directory.
func echoSession(t *testing.T, url string, bob *peer, question string) (runner.Config, string) {
	t.Helper()
	cfg := baseConfig(t, url, "echo", &runner.CLI{Command: []string{"/bin/sh", script(t, echoScript)}})
	stop, _ := runAsync(t, cfg)
	bob.waitJoined(t, "echo")
	require.NoError(t, bob.Send(t.Context(), "#general", question))
	bob.waitMsg(t, "heard: "+question)
	require.NoError(t, stop())
	dir := runner.AgentDir(cfg.Home, "echo")
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "prompts")))
	return cfg, dir
}

// TestSessionResumesWithTranscript stops a session and starts the next:
// its first prompt carries what was said in the first, and the session
// number goes up.
func TestSessionResumesWithTranscript(t *testing.T) {
	url := startNode(t)
	bob := dialPeer(t, url, "bob")
	cfg, dir := echoSession(t, url, bob, "remember the number 42")
	stop2, _ := runAsync(t, cfg)
	var prompt []byte
	require.Eventually(t, func() bool { // the whole prompt is written: the stop below kills the script
		var err error
		prompt, err = os.ReadFile(filepath.Join(dir, "prompts", "0"))
		return err == nil && strings.Contains(string(prompt), "Session 2 started")
	}, waitTimeout, 10*time.Millisecond)
	require.NoError(t, stop2())
	require.Contains(t, string(prompt), "remember the number 42")
	require.Contains(t, string(prompt), "you -> #general: heard: remember the number 42")
	require.Contains(t, string(prompt), "Session 2 started")
	s, err := runner.ReadSession(dir)
	require.NoError(t, err)
	require.Equal(t, 2, s.Num)
}

// TestCLIBackendPromptArgAndFailure passes the prompt as an argument and
// pins that a failing command ends the session with its stderr.
func TestCLIBackendPromptArgAndFailure(t *testing.T) {
	url := startNode(t)
	sh := script(t, `case "$1" in *"Answer every message"*) echo "boom: got the prompt" >&2; exit 7;; esac; exit 0`)
	cfg := baseConfig(t, url, "failing", &runner.CLI{Command: []string{"/bin/sh", sh}, PromptArg: true})
	stop, done := runAsync(t, cfg)
	waitEnd(t, done)
	err := stop()
	require.ErrorIs(t, err, runner.ErrBackend)
	require.ErrorContains(t, err, "exited with 7: boom: got the prompt")
	require.Equal(t, runner.ExitCrash, runner.ExitCode(err))
	s, rerr := runner.ReadSession(runner.AgentDir(cfg.Home, "failing"))
	require.NoError(t, rerr)
	require.Equal(t, runner.EndCrash, s.EndedBy)
	require.True(t, strings.Contains(s.Error, "boom"))
}

// TestReplayIsContextNotATurn pins that the channel history a node
// replays when a session joins is not answered as new: what the
// transcript already has is dropped, the rest is recorded as context, and
// neither makes a turn or shows under "New messages".
func TestReplayIsContextNotATurn(t *testing.T) {
	url := startNode(t)
	bob := dialPeer(t, url, "bob")
	require.NoError(t, bob.Send(t.Context(), "#general", "said before the agent came"))
	cfg, dir := echoSession(t, url, bob, "first question")
	stop2, _ := runAsync(t, cfg)
	require.Eventually(t, func() bool { // the opening turn has run
		_, err := os.Stat(filepath.Join(dir, "prompts", "0"))
		return err == nil
	}, waitTimeout, 10*time.Millisecond)
	require.NoError(t, bob.Send(t.Context(), "#general", "second question"))
	bob.waitMsg(t, "heard: second question")
	require.NoError(t, stop2())

	require.Equal(t, 1, bob.countContent("heard: first question"), "the replayed question is not answered again")
	require.Zero(t, bob.countContent("heard: said before the agent came"), "history from before the agent is context only")
	prompts, err := os.ReadDir(filepath.Join(dir, "prompts"))
	require.NoError(t, err)
	require.Len(t, prompts, 2, "session 2: the opening turn and the second question only")
	last, err := os.ReadFile(filepath.Join(dir, "prompts", "1"))
	require.NoError(t, err)
	_, fresh, _ := strings.Cut(string(last), "New messages:")
	require.Contains(t, fresh, "second question")
	require.NotContains(t, fresh, "first question")
	require.NotContains(t, fresh, "said before")

	counts := map[string]int{}
	for _, e := range transcript(t, cfg) {
		if e.Kind == runner.KindIn {
			counts[e.Content]++
		}
	}
	require.Equal(t, map[string]int{"said before the agent came": 1, "first question": 1, "second question": 1}, counts,
		"each message is in the transcript once")
}

// TestCLIBackendMCPConfig pins the MCP config of a tool-using command: the
// session writes mcp.json running `agentchat mcp` against the agent's node,
// substitutes its path for {mcp_config}, and tells the command which name
// its own connection should take.
func TestCLIBackendMCPConfig(t *testing.T) {
	url := startNode(t)
	sh := script(t, `cp "$1" "$STATE_DIR/seen-mcp.json"; cat > "$STATE_DIR/seen-prompt"; : > "$STATE_DIR/answered"; echo PASS`)
	cfg := baseConfig(t, url, "toolsy", &runner.CLI{Command: []string{"/bin/sh", sh, "{mcp_config}"},
		MCPCommand: []string{"/opt/bin/agentchat", "mcp"}})
	stop, _ := runAsync(t, cfg)
	dir := runner.AgentDir(cfg.Home, "toolsy")
	require.Eventually(t, func() bool { // the script has answered: stopping it now cannot cut its writes short
		_, err := os.Stat(filepath.Join(dir, "answered"))
		return err == nil
	}, waitTimeout, 10*time.Millisecond)
	require.NoError(t, stop())
	var mcpCfg struct {
		MCPServers map[string]struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcpServers"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "seen-mcp.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &mcpCfg))
	srv := mcpCfg.MCPServers["agentchat"]
	require.Equal(t, "/opt/bin/agentchat", srv.Command)
	require.Equal(t, []string{"mcp"}, srv.Args)
	require.Equal(t, map[string]string{"AGENTCHAT_URL": url, "AGENTCHAT_PUBLIC": "true",
		"AGENTCHAT_HIDE_TOOLS": "agentchat_file_receive,agentchat_inbox,agentchat_leave,agentchat_nick",
		"AGENTCHAT_JOURNAL":    filepath.Join(dir, "tools.jsonl")}, srv.Env, "the session's tool selection and journal")
	prompt, err := os.ReadFile(filepath.Join(dir, "seen-prompt"))
	require.NoError(t, err)
	require.Contains(t, string(prompt), `agentchat_connect with name "toolsy-tools"`)
}
