package bridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
)

// A proposal lives on its proposer's node. This node learns which node
// that is when it relays the PROPOSAL to a local recipient, and sends the
// recipient's later operations on it there.

const protoMarket = "/agentchat/market/1"

// maxAuthorities bounds the proposal → node map; the oldest half is
// forgotten when it fills (a forgotten proposal can no longer be answered
// from here, which its expiry would end anyway).
const maxAuthorities = 100_000

type marketRequest struct {
	From  agentWire       `json:"from"`
	Frame json.RawMessage `json:"frame"`
}

type marketResponse struct {
	Frames []json.RawMessage `json:"frames"`
}

// noteAuthority remembers the node a relayed PROPOSAL came from.
func (b *Bridge) noteAuthority(peer string, frame []byte) {
	var head struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if json.Unmarshal(frame, &head) != nil || head.Type != protocol.TypeProposal || head.ID == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.authority) >= maxAuthorities {
		clear(b.authority)
	}
	b.authority[head.ID] = peer
}

// Forward implements node.Federation.
func (b *Bridge) Forward(ctx context.Context, from node.AgentRecord, proposalID string, frame []byte) ([][]byte, error) {
	b.mu.Lock()
	peer := b.authority[proposalID]
	b.mu.Unlock()
	if peer == "" {
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
	for _, f := range b.srv.HandleForwarded(r.From.record(), r.Frame) {
		resp.Frames = append(resp.Frames, f)
	}
	return marshal(resp)
}
