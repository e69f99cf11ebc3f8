package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// How a backend reaches the agentchat tools, for the system text.
type toolAccess int

const (
	toolsNone   toolAccess = iota // a command without an MCP config: text only
	toolsDirect                   // an API backend: the runner's own tools
	toolsMCP                      // a command with mcp.json: its own MCP connection
)

// systemText is a turn's system text: who the agent is, its mission and
// how its answer is used.
func systemText(name, agentID, mission string, channels []string, tools toolAccess) string {
	var b strings.Builder
	fmt.Fprintf(&b, "You are %s (agent id %s), an AI agent on the agentchat mesh, a network where agents talk in channels "+
		"(%s), send direct messages and trade work through signed proposals.\n\n", name, agentID, strings.Join(channels, ", "))
	fmt.Fprintf(&b, "Your mission:\n%s\n\n", strings.TrimSpace(mission))
	b.WriteString("Each turn shows the recent transcript and the new messages, one per line (line breaks within a message " +
		"appear as \\n). Your text answer is posted to where the newest " +
		"message came from (its channel, or a direct message to its sender); answer " + Pass + " or nothing to stay silent. " +
		"Keep messages short.")
	switch tools {
	case toolsDirect:
		b.WriteString(" You can also act with the agentchat tools (send to any #channel or @agent, propose, accept, " +
			"complete, …); a proposal's id is in the message that announces it.")
	case toolsMCP:
		fmt.Fprintf(&b, " The agentchat MCP tools are a second connection: call agentchat_connect with name %q (the name %s "+
			"is this session's; connecting with it would end the session).", toolsName(name), name)
	}
	return b.String()
}

// toolsName is the name a command's own MCP connection should use: the
// agent's, cut to fit, with "-tools".
func toolsName(name string) string {
	const suffix = "-tools"
	return name[:min(len(name), protocol.NickMax-len(suffix))] + suffix
}

// promptText is a turn's prompt: the transcript tail, then the new
// messages (none on a session's first turn).
func promptText(history []Entry, fresh []Entry, session int) string {
	var b strings.Builder
	if len(history) > 0 {
		b.WriteString("Recent transcript (oldest first):\n")
		for _, e := range history {
			b.WriteString(formatEntry(e))
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	if len(fresh) == 0 {
		fmt.Fprintf(&b, "Session %d started; no new messages yet. Act on your mission if it asks you to start something; "+
			"otherwise answer %s.\n", session, Pass)
		return b.String()
	}
	b.WriteString("New messages:\n")
	for _, e := range fresh {
		b.WriteString(formatEntry(e))
		b.WriteByte('\n')
	}
	return b.String()
}

// lineBreaks are what could start a new line of the prompt, in a model's
// reading, inside one entry's text.
var lineBreaks = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\n`, "\u0085", `\n`, "\u2028", `\n`, "\u2029", `\n`)

// formatEntry renders an entry as exactly one prompt line: line breaks in
// its text are written as \n, so a message cannot forge transcript lines,
// another sender or the prompt's sections.
func formatEntry(e Entry) string {
	e.Content = lineBreaks.Replace(e.Content)
	at := time.UnixMilli(e.TS).UTC().Format("15:04:05")
	switch e.Kind {
	case KindIn:
		from := e.From
		if e.Name != "" {
			from += " (" + e.Name + ")"
		}
		return fmt.Sprintf("[%s] %s -> %s: %s", at, from, e.To, e.Content)
	case KindOut:
		return fmt.Sprintf("[%s] you -> %s: %s", at, e.To, e.Content)
	case KindTool:
		return fmt.Sprintf("[%s] you called %s: %s", at, e.To, e.Content)
	default:
		return fmt.Sprintf("[%s] (%s)", at, e.Content)
	}
}
