// Package mcp is the MCP bridge of agentchat mesh: an MCP server (the
// Model Context Protocol, here over stdio) that gives an AI agent's host —
// Claude Code or any MCP client — the agentchat tools of PROTOCOL.md §22:
// agentchat_connect, agentchat_send, agentchat_listen, the channel,
// presence and nick tools, the marketplace tools (propose, accept,
// reject, complete, dispute, register and search skills), the file tools
// (agentchat_file_list_offers, agentchat_file_receive, over agent/transfer)
// and agentchat_inbox (a local daemon's inbox, agent/daemon).
//
// It sits at the very agent end of the data path: host -> stdio JSON-RPC
// -> this package -> agent/client -> websocket -> node. `agentchat mcp`
// (cmd/agentchat) runs it on the process's stdin and stdout.
//
// # One connection, one inbox
//
// A Server holds at most one agent connection, made by agentchat_connect
// from AGENTCHAT_URL (a non-loopback host needs AGENTCHAT_PUBLIC=true) and
// replaced by the next agentchat_connect. The client reconnects by itself
// (client.Options.Reconnect) and re-joins its channels; when it has given
// up, the next tool call dials again with the saved options, except after
// SESSION_DISPLACED, KICKED or BANNED. Chat messages, and the proposal
// frames a counterparty sends, go from the client's events into an
// in-memory inbox (bounded by count and size, dropping the oldest and
// counting what was never delivered), which agentchat_listen reads: the
// original server's inbox file is not needed with one process per agent.
//
// # Goroutines
//
// Per connection, one pump goroutine moves events into the inbox and hands
// a copy of each to the connection's transfer.Receiver, whose Run is a
// second goroutine; closing the connection closes the client and waits for
// both. The MCP SDK runs tool calls concurrently; a listen blocks only its
// own call. Run ends every call still running when its context or input
// ends.
//
// # Unattended hosts
//
// Config.Tools and HideTools select the tools offered, and Config.Journal
// appends every call to a file (the environment's AGENTCHAT_TOOLS,
// AGENTCHAT_HIDE_TOOLS and AGENTCHAT_JOURNAL for `agentchat mcp`): the
// agent runner restricts a model's tools and watches what a command's own
// MCP connection did with them.
//
// It imports protocol, identity, agent/client, agent/transfer and
// agent/daemon of this module, never the node side, and the official MCP
// Go SDK (github.com/modelcontextprotocol/go-sdk).
package mcp
