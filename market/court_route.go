package market

import (
	"encoding/json"

	"github.com/agentchat/mesh/protocol"
)

// A case lives on the node holding its proposal. Its frames reach parties
// and arbiters wherever they are (Courier.Notify); the node hosting such an
// agent learns from them where the dispute is held (ObserveCase) and
// forwards the agent's EVIDENCE and ARBITER_* frames there. DISPUTE_INTENT
// and DISPUTE_REVEAL name the proposal and follow its route.

// maxRoutes bounds the remembered routes of disputes held elsewhere.
const maxRoutes = 100_000

// ObserveCase remembers that node holds the dispute an agentcourt frame
// names. The first node to name a dispute keeps it: a later claim changes
// nothing.
func (m *Machine) ObserveCase(node string, frame []byte) {
	var head struct {
		DisputeID string `json:"dispute_id"`
	}
	if node == "" || json.Unmarshal(frame, &head) != nil || head.DisputeID == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cases[head.DisputeID] != nil || m.routes[head.DisputeID] != "" {
		return
	}
	if len(m.routes) >= maxRoutes {
		for id := range m.routes { // arbitrary: an old dispute's agents lose the route
			delete(m.routes, id)
			break
		}
	}
	m.routes[head.DisputeID] = node
}

// disputeOf returns the dispute a frame names, "" for others.
func disputeOf(msg protocol.Message) string {
	switch msg := msg.(type) {
	case *protocol.Evidence:
		return msg.DisputeID
	case *protocol.ArbiterAccept:
		return msg.DisputeID
	case *protocol.ArbiterDecline:
		return msg.DisputeID
	case *protocol.ArbiterVote:
		return msg.DisputeID
	}
	return ""
}

// routeFor returns the node holding dispute id, "" if it is held here or
// unknown.
func (m *Machine) routeFor(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == "" || m.cases[id] != nil {
		return ""
	}
	return m.routes[id]
}

// forwardCase sends a frame about a dispute held elsewhere to its node and
// relays the answers.
func (m *Machine) forwardCase(node, id string, c Courier) *protocol.Error {
	frames, err := c.Forward(node)
	if err != nil {
		m.log.Warn("forward court operation", "dispute", id, "node", node, "err", err)
		return errUnreachable
	}
	for _, f := range frames {
		c.Reply(json.RawMessage(f))
	}
	return nil
}
