package bridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentchat/mesh/node"
)

// A proposal lives on its proposer's node. The node hosting its recipient
// learns which node that is when it relays the PROPOSAL (handleDirect tells
// the market), and the market forwards the recipient's later operations
// there over this protocol.

const protoMarket = "/agentchat/market/1"

type marketRequest struct {
	From  agentWire       `json:"from"`
	Frame json.RawMessage `json:"frame"`
}

type marketResponse struct {
	Frames []json.RawMessage `json:"frames"`
}

// Forward implements node.Federation.
func (b *Bridge) Forward(ctx context.Context, from node.AgentRecord, peer string, frame []byte) ([][]byte, error) {
	if peer == "" || peer == b.host.ID() {
		return nil, node.ErrNoRoute
	}
	req, err := marshal(marketRequest{From: toWire(from, nil), Frame: frame})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
	defer cancel()
	resp, err := b.host.Request(ctx, peer, protoMarket, req)
	if err != nil {
		return nil, fmt.Errorf("forward to %s: %w", short(peer), err)
	}
	var r marketResponse
	if err := json.Unmarshal(resp, &r); err != nil {
		return nil, fmt.Errorf("%w: market response", ErrMalformed)
	}
	out := make([][]byte, len(r.Frames))
	for i, f := range r.Frames {
		out[i] = f
	}
	return out, nil
}

// handleMarket runs an operation forwarded by the node hosting its author.
func (b *Bridge) handleMarket(_ context.Context, peer string, req []byte) ([]byte, error) {
	var r marketRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, fmt.Errorf("%w: market request", ErrMalformed)
	}
	if err := b.checkAuthor(peer, &r.From); err != nil {
		b.reject(peer, "market", err)
		return nil, err
	}
	var resp marketResponse
	for _, f := range b.srv.HandleForwarded(r.From.record(), peer, r.Frame) {
		resp.Frames = append(resp.Frames, f)
	}
	return marshal(resp)
}
