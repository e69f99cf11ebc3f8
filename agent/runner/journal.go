package runner

import (
	"encoding/json"
	"path/filepath"

	"github.com/agentchat/mesh/agent/mcp"
)

// takeToolCalls takes the tool calls a cli backend's own MCP connection
// journaled during a turn: each goes into the transcript and counts
// against the guards as the API backends' calls do (a send through the
// tools is a send), and its connect tells the session that connection's
// agent id, whose messages are the agent's own, not news to answer. It
// returns the first guard that tripped; the calls have happened by then,
// so the session ends after them.
func (s *session) takeToolCalls() error {
	calls, err := mcp.TakeJournal(filepath.Join(s.cfg.StateDir, journalFile))
	if err != nil {
		s.log.Warn("tool journal", "err", err)
	}
	var tripped error
	for _, c := range calls {
		if c.Tool == "agentchat_connect" && !c.IsError {
			var r struct {
				AgentID string `json:"agent_id"`
			}
			if json.Unmarshal([]byte(c.Result), &r) == nil && r.AgentID != "" {
				s.toolsID = r.AgentID
			}
		}
		s.record(Entry{TS: c.TS, Kind: KindTool, To: c.Tool, Content: string(c.Args) + " -> " + c.Result})
		if err := s.g.tool(c.Tool == sendTool); err != nil && tripped == nil {
			tripped = err
		}
	}
	return tripped
}
