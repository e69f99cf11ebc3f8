package bridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentchat/mesh/protocol"
)

// An agentcourt case lives on the node holding its proposal; the frames it
// sends on its own account (ARBITER_ASSIGNED, PANEL_FORMED, VERDICT …)
// reach agents on other nodes over this protocol. The receiving node
// learns from them which node holds the dispute (node.Server.DeliverNotice)
// and forwards the agent's answers there (protoMarket).

const protoCourt = "/agentchat/court/1"

// courtRequest carries one notice to the node hosting To.
type courtRequest struct {
	To    string          `json:"to"`
	Frame json.RawMessage `json:"frame"`
}

// courtFrames are the frames a node may notify: the §13 server frames and
// the server MSG that announces a filing or the evidence window.
var courtFrames = map[string]bool{
	protocol.TypeDisputeIntentAck: true, protocol.TypeDisputeRevealed: true, protocol.TypeDisputeFallback: true,
	protocol.TypePanelFormed: true, protocol.TypeArbiterAssigned: true, protocol.TypeEvidenceReceived: true,
	protocol.TypeCaseReady: true, protocol.TypeVerdict: true, protocol.TypeSettlementComplete: true,
	protocol.TypeMsg: true,
}

// Notify implements node.Federation.
func (b *Bridge) Notify(ctx context.Context, id string, frame []byte) error {
	return b.toHostOf(ctx, id, protoCourt, courtRequest{To: id, Frame: frame})
}

// handleCourt delivers a notice from the node holding a case. A server MSG
// must come from @server, so a node cannot speak for an agent here.
func (b *Bridge) handleCourt(_ context.Context, peer string, req []byte) ([]byte, error) {
	var r courtRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, fmt.Errorf("%w: court request", ErrMalformed)
	}
	var head struct {
		Type string `json:"type"`
		From string `json:"from"`
	}
	if err := json.Unmarshal(r.Frame, &head); err != nil || !courtFrames[head.Type] ||
		(head.Type == protocol.TypeMsg && head.From != "@server") {
		b.reject(peer, "court", fmt.Errorf("%w: court frame", ErrMalformed))
		return []byte("refused: not a court frame"), nil
	}
	if !b.srv.DeliverNotice(r.To, peer, r.Frame) {
		return []byte("not found"), nil
	}
	return []byte("ok"), nil
}
