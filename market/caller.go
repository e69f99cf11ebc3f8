package market

// Caller is the authenticated agent a frame came from (the node fills it).
type Caller struct {
	ID       string // wire ID without "@"
	Name     string
	Pubkey   string // PEM as the agent sent it; "" for ephemeral agents
	Verified bool
	// Node is the node hosting a caller whose operation was forwarded from
	// there; "" for an agent connected to this node.
	Node string
}

// Courier delivers frames: Send to another agent (false if it is not
// reachable), Notify a frame of the node's own (agentcourt's) to an agent
// wherever it is on the mesh (false if it is not reachable), Reply to the
// caller. Forward sends the caller's frame to the
// node holding its proposal and returns that node's answers (an error when
// that node cannot be reached).
type Courier interface {
	Send(id string, frame any) bool
	Notify(id string, frame any) bool
	Reply(frame any)
	Forward(node string) ([][]byte, error)
}
