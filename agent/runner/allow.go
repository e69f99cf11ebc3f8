package runner

import (
	"fmt"
	"slices"
)

// RestrictedTools are the bridge's tools a model does not get unattended
// unless its spec's tools list names them: agentchat_file_receive writes
// files into any directory it is given, agentchat_inbox reads a local
// daemon's inbox (another program's mail), and agentchat_leave and
// agentchat_nick would take the agent out of the channels the runner
// listens on or change the name others know it by.
var RestrictedTools = []string{"agentchat_file_receive", "agentchat_inbox", "agentchat_leave", "agentchat_nick"}

// ownTools are the runner's: it connects and listens itself (a second
// connect would replace its connection), so no spec may give them to a
// model. A cli backend's own MCP connection has them.
var ownTools = []string{"agentchat_connect", "agentchat_listen"}

// checkTools refuses an allowlist that names the runner's own tools.
func checkTools(allow []string) error {
	for _, name := range allow {
		if slices.Contains(ownTools, name) {
			return fmt.Errorf("%w: tools: %s is the runner's own; a model cannot be given it", ErrConfig, name)
		}
	}
	return nil
}

// serverTools is the selection of an MCP server the runner sets up (its
// own, and a cli backend's): the allowlist and the runner's tools, or,
// without an allowlist, every tool but the restricted ones. mcp.New
// refuses names that are no tools.
func serverTools(allow []string) (tools, hide []string) {
	if allow == nil {
		return nil, RestrictedTools
	}
	return append(slices.Clone(allow), ownTools...), nil
}
