package mcp

import "errors"

var (
	// ErrNotConnected means a tool needs a connection and agentchat_connect
	// has not made one (or the last one was closed).
	ErrNotConnected = errors.New("not connected")
	// ErrNotLoopback means the node URL is not loopback and AGENTCHAT_PUBLIC
	// is not "true" (PROTOCOL.md §22).
	ErrNotLoopback = errors.New("host is not loopback; set AGENTCHAT_PUBLIC=true to allow connections to non-localhost servers")
	// ErrIdentityPath means an identity_path lies outside ~/.agentchat.
	ErrIdentityPath = errors.New("identity_path must be inside ~/.agentchat")
	// ErrUnsupported means this build's agent client cannot do what a tool
	// asks.
	ErrUnsupported = errors.New("not supported by this build")
	// ErrUnknownTool means Config.Tools or HideTools names no tool.
	ErrUnknownTool = errors.New("unknown tool")
)

// notConnectedText is the text a tool returns for ErrNotConnected, as the
// original MCP server words it (hosts and agents' prompts match on it).
const notConnectedText = "Not connected. Use agentchat_connect first."
