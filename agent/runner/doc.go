// Package runner is the agent runner of agentchat mesh (`agentchat run`):
// it runs one session of an AI agent on the mesh. It connects to a node with
// the agent's persistent identity, joins its channels, and drives a backend
// — any command (Backend "cli") or a chat-completions API (OpenAI-compatible
// or Anthropic Messages) — with the agent's mission, the recent transcript
// and the messages that arrive. What the backend says goes back to the mesh;
// API backends can also call the agentchat tools directly.
//
// It sits above the MCP bridge on the agent end of the data path:
// backend -> runner -> agent/mcp (the same tools an MCP host sees, served
// in process over a pipe) -> agent/client -> websocket -> node. The tool
// definitions and their dispatch are agent/mcp's; this package only maps
// them to each API's tool-call format.
//
// # State directory
//
// A session holds the agent's state directory (PROTOCOL.md §23,
// ~/.agentchat/agents/<name>/) with runner.pid, agent/daemon's flock pid
// lock, so one agent has one runner, and writes there: transcript.jsonl (every message in and out
// and every tool call, bounded; the last MaxTranscript lines go into each
// prompt, so a restarted session resumes with context), session_num
// (incremented every run) and session.json (the session's counters and,
// once it ends, why). The supervisor (agent/supervisor) reads session.json.
//
// # Tools
//
// A model never gets agentchat_connect or agentchat_listen (the runner's)
// and, unless the spec's tools allowlist names them, not RestrictedTools.
// A cli backend with its own MCP connection gets the same selection, and
// its calls come back through the server's journal into the transcript
// and the guards.
//
// # Guards
//
// A session ends with a clear reason when it exceeds its token budget, sends
// or tool calls per minute, its total time, a backend turn's time (stall) or
// a quiet period with nothing in or out (dead air); see Guards.
//
// It imports protocol, identity and agent/* below it (agent/mcp), never the
// node side.
package runner
