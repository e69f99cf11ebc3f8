package node

import (
	"context"
	"encoding/json"

	"github.com/agentchat/mesh/protocol"
)

// Caller is the authenticated agent a marketplace frame came from.
type Caller struct {
	ID       string // wire ID, no "@"
	Name     string
	Pubkey   string // PEM; never "" (the node checks SIGNATURE_REQUIRED first)
	Verified bool
	// Node is the node that vouches for a caller whose operation was
	// forwarded from there; "" for an agent connected here.
	Node string
}

// Courier lets the market reach agents: Send delivers a frame to an agent
// (here or, for a call from an agent, anywhere on the mesh) and reports
// whether it was reachable; Notify does the same for a frame the node
// sends on its own account (agentcourt), from any call or none; Reply answers the caller. Forward sends the
// caller's frame, as it arrived, to the node holding its proposal and
// returns that node's answers; ErrNoRoute when there is no way there (or
// the call was itself forwarded).
type Courier interface {
	Send(id string, frame any) bool
	Notify(id string, frame any) bool
	Reply(frame any)
	Forward(node string) ([][]byte, error)
}

// Market handles PROPOSAL, ACCEPT, REJECT, COMPLETE, DISPUTE,
// REGISTER_SKILLS, SEARCH_SKILLS and the agentcourt frames. The node has
// already checked the caller is identified and, for signed operations, holds
// a pubkey; the market verifies signatures and runs the business rules.
type Market interface {
	Handle(ctx context.Context, from Caller, m protocol.Message, c Courier) *protocol.Error
	// Stats feeds the /health "proposals" block.
	Stats() ProposalStats
	// Observe sees a PROPOSAL that from (hosted by from.Node) sent to an
	// agent here: operations on it are forwarded to that node.
	Observe(from Caller, frame []byte)
	// ObserveCase sees an agentcourt frame node sent to an agent here:
	// the agent's frames about that dispute are forwarded to that node.
	ObserveCase(node string, frame []byte)
}

// ProposalStats is the /health "proposals" block.
type ProposalStats struct {
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"byStatus"`
	Agents   int            `json:"agents"`
}

// noMarket answers a node without a marketplace: searches find nothing and
// every other operation is refused with a clear error.
type noMarket struct{}

func (noMarket) Handle(_ context.Context, _ Caller, m protocol.Message, c Courier) *protocol.Error {
	if s, ok := m.(*protocol.SearchSkills); ok {
		q, _ := protocol.Encode(s.Query)
		qid := s.QueryID
		if len(qid) == 0 {
			qid = []byte("null")
		}
		c.Reply(&protocol.SearchResults{Type: protocol.TypeSearchResults, TS: nowMS(), QueryID: qid, Query: q, Results: []json.RawMessage{}})
		return nil
	}
	return protocol.Errorf(protocol.CodeInvalidMsg, "Marketplace is not enabled on this node")
}

func (noMarket) Stats() ProposalStats { return ProposalStats{ByStatus: map[string]int{}} }

func (noMarket) Observe(Caller, []byte) {}

func (noMarket) ObserveCase(string, []byte) {}
