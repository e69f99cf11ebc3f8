package market

// Caller is the authenticated agent a frame came from (the node fills it).
type Caller struct {
	ID       string // wire ID without "@"
	Name     string
	Pubkey   string // PEM as the agent sent it; "" for ephemeral agents
	Verified bool
}

// Courier delivers frames: Send to another agent (false if it is not
// reachable), Reply to the caller.
type Courier interface {
	Send(id string, frame any) bool
	Reply(frame any)
}
