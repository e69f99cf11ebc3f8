package runner_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
)

// mcpHostScript is a cli backend that is its own MCP host, as `claude -p
// --mcp-config {mcp_config}` is: on its first turn it starts the server
// mcp.json names, with the environment mcp.json gives it, connects as
// <name>-tools, sends $SENDS messages to #general through it and saves the
// tools it was offered; every turn it saves its prompt (prompts/<n>) and
// answers PASS.
const mcpHostScript = `prompt=$(cat); dir="$STATE_DIR/prompts"; mkdir -p "$dir"
n=$(ls "$dir" | wc -l); printf '%s' "$prompt" > "$dir/$n"
[ "$n" = 0 ] || { echo PASS; exit 0; }
eval "$(sed -n 's/^ *"\(AGENTCHAT_[A-Z_]*\)": "\([^"]*\)",\{0,1\}$/export \1="\2"/p' "$1")"
bin=$(sed -n 's/^ *"command": "\([^"]*\)",$/\1/p' "$1")
t=$(mktemp -d); mkfifo "$t/in"; : > "$t/out"
"$bin" < "$t/in" > "$t/out" & server=$!
exec 3> "$t/in"
rpc() { printf '%s\n' "$1" >&3; until grep -q "\"id\":$2[,}]" "$t/out"; do sleep 0.02; done; }
rpc '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' 1
printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/initialized"}' >&3
rpc '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' 2
rpc '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"agentchat_connect","arguments":{"name":"'"$AGENT_NAME"'-tools","channels":["#general"]}}}' 3
i=0; while [ $i -lt "$SENDS" ]; do i=$((i+1))
  rpc '{"jsonrpc":"2.0","id":'$((i+3))',"method":"tools/call","params":{"name":"agentchat_send","arguments":{"target":"#general","message":"via tools '$i'"}}}' $((i+3))
done
cp "$t/out" "$STATE_DIR/mcp.out"
exec 3>&-; wait $server; rm -r "$t"
echo PASS
`

// mcpHost is the config of a session whose cli backend is mcpHostScript,
// making sends messages through its tools.
func mcpHost(t *testing.T, url string, sends int) runner.Config {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	t.Setenv(mcpServerEnv, "1") // the server mcp.json names is this binary serving MCP
	return baseConfig(t, url, "tooly", &runner.CLI{Command: []string{"/bin/sh", script(t, mcpHostScript), "{mcp_config}"},
		Env: []string{"SENDS=" + strconv.Itoa(sends)}, MCPCommand: []string{self}})
}

// TestMCPCLIToolsAreTheAgents runs a cli backend with its own MCP
// connection: what it says through its tools reaches the channel, is in
// the transcript as its tool calls, and is not news the agent answers (the
// next turn is the peer's message alone); its server offers neither the
// restricted tools nor more than the runner allows.
func TestMCPCLIToolsAreTheAgents(t *testing.T) {
	url := startNode(t)
	bob := dialPeer(t, url, "bob")
	cfg := mcpHost(t, url, 1)
	stop, _ := runAsync(t, cfg)
	tools := bob.waitMsg(t, "via tools 1")
	require.NoError(t, bob.Send(t.Context(), "#general", "ping"))
	dir := runner.AgentDir(cfg.Home, "tooly")
	var second string
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(filepath.Join(dir, "prompts", "1"))
		second = string(data)
		return err == nil
	}, waitTimeout, 10*time.Millisecond)
	require.NoError(t, stop())
	_, fresh, _ := strings.Cut(second, "New messages:")
	require.Contains(t, fresh, "ping")
	require.NotContains(t, fresh, "via tools", "the agent's own tools' message is not news")
	entries, err := os.ReadDir(filepath.Join(dir, "prompts"))
	require.NoError(t, err)
	require.Len(t, entries, 2, "no turn on the tools' own message")

	var calls []string
	for _, e := range transcript(t, cfg) {
		if e.Kind == runner.KindTool {
			calls = append(calls, e.To)
			if e.To == "agentchat_connect" {
				require.Contains(t, e.Content, tools.From, "the tools connection's id")
			}
		}
	}
	require.Equal(t, []string{"agentchat_connect", "agentchat_send"}, calls)
	listed, err := os.ReadFile(filepath.Join(dir, "mcp.out"))
	require.NoError(t, err)
	require.Contains(t, string(listed), `"agentchat_connect"`)
	require.Contains(t, string(listed), `"agentchat_propose"`)
	for _, r := range runner.RestrictedTools {
		require.NotContains(t, string(listed), `"`+r+`"`)
	}
	s, err := runner.ReadSession(dir)
	require.NoError(t, err)
	require.Equal(t, 1, s.Sends, "the send through the tools is counted")
}

// TestMCPCLISendGuard pins that sends made through a cli backend's own
// tools count against max_sends: three in one turn end a session allowed
// two a minute.
func TestMCPCLISendGuard(t *testing.T) {
	url := startNode(t)
	cfg := mcpHost(t, url, 3)
	cfg.Guards.MaxSends = 2
	stop, done := runAsync(t, cfg)
	waitEnd(t, done)
	err := stop()
	var end *runner.EndError
	require.ErrorAs(t, err, &end)
	require.Equal(t, runner.EndSends, end.Reason)
	s, rerr := runner.ReadSession(runner.AgentDir(cfg.Home, "tooly"))
	require.NoError(t, rerr)
	require.Equal(t, runner.EndSends, s.EndedBy)
}
