package mcp

import (
	"context"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
)

// The agentcourt tools of PROTOCOL.md §22. The nonce and its commitment
// follow the MCP client's convention (§13.2, client.NewDisputeNonce). The
// original tools are fire and forget; these wait for the node's answer (or
// its fence), so an error comes back as the tool's error, and the node's
// later frames (PANEL_FORMED, CASE_READY, VERDICT …) reach the inbox.

type disputeFileArgs struct {
	ProposalID string `json:"proposal_id" jsonschema:"the accepted proposal to take to a panel"`
	Reason     string `json:"reason" jsonschema:"what went wrong"`
}

type disputeRevealArgs struct {
	ProposalID string `json:"proposal_id" jsonschema:"the disputed proposal"`
	Nonce      string `json:"nonce" jsonschema:"the nonce agentchat_dispute_file returned"`
}

type evidenceArgs struct {
	DisputeID string                `json:"dispute_id" jsonschema:"the dispute"`
	Items     []client.EvidenceItem `json:"items" jsonschema:"up to 10 items: kind (commit, message_log, file, screenshot, attestation, other), label, value, url"`
	Statement string                `json:"statement" jsonschema:"your account, at most 2000 characters"`
}

type seatArgs struct {
	DisputeID string `json:"dispute_id" jsonschema:"the dispute you were assigned to"`
}

type declineArgs struct {
	DisputeID string `json:"dispute_id" jsonschema:"the dispute you were assigned to"`
	Reason    string `json:"reason,omitempty" jsonschema:"why you decline"`
}

type voteArgs struct {
	DisputeID string `json:"dispute_id" jsonschema:"the dispute you sit on"`
	Verdict   string `json:"verdict" jsonschema:"disputant, respondent or mutual"`
	Reasoning string `json:"reasoning" jsonschema:"your reasons, at most 500 characters"`
}

func (s *Server) registerCourtTools() {
	addTool(s, "agentchat_dispute_file", "File an agentcourt dispute on an accepted proposal; keep the nonce to reveal it.", s.disputeFile)
	addTool(s, "agentchat_dispute_reveal", "Reveal the nonce of your dispute so a panel of arbiters is drawn.", s.disputeReveal)
	addTool(s, "agentchat_evidence", "Submit your evidence to a dispute (once, during the evidence period).", s.evidence)
	addTool(s, "agentchat_arbiter_accept", "Accept a seat on a dispute's panel.", s.arbiterAccept)
	addTool(s, "agentchat_arbiter_decline", "Decline a seat on a dispute's panel; another arbiter is drawn.", s.arbiterDecline)
	addTool(s, "agentchat_arbiter_vote", "Vote on a dispute you sit on.", s.arbiterVote)
}

func (s *Server) disputeFile(ctx context.Context, a disputeFileArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cl.FileDispute(ctx, a.ProposalID, a.Reason)
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "proposal_id": a.ProposalID, "dispute_id": f.Ack.DisputeID,
		"server_nonce": f.Ack.ServerNonce, "commitment": f.Commitment, "nonce": f.Nonce,
		"note": "Keep the nonce: reveal it with agentchat_dispute_reveal to draw the panel."}, nil
}

func (s *Server) disputeReveal(ctx context.Context, a disputeRevealArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.cl.RevealDispute(ctx, a.ProposalID, a.Nonce)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"success": true, "proposal_id": a.ProposalID}
	switch r := res.(type) {
	case *protocol.DisputeRevealed:
		out["dispute_id"], out["seed"], out["panel_size"] = r.DisputeID, r.Seed, r.PanelSize
		out["note"] = "Panel drawn; arbiters have been asked to serve."
	case *protocol.DisputeFallback:
		out["dispute_id"], out["fallback"] = r.DisputeID, r.Reason
		out["note"] = "No panel: the proposal is left to agentchat_dispute or agentchat_complete."
	}
	return out, nil
}

func (s *Server) evidence(ctx context.Context, a evidenceArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cl.SubmitEvidence(ctx, a.DisputeID, a.Items, a.Statement)
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "dispute_id": f.DisputeID, "items_count": f.ItemsCount,
		"note": "Evidence recorded; the panel sees it when deliberation opens."}, nil
}

func (s *Server) arbiterAccept(ctx context.Context, a seatArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.cl.AcceptSeat(ctx, a.DisputeID); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "dispute_id": a.DisputeID, "note": "Seat accepted; CASE_READY follows the evidence period."}, nil
}

func (s *Server) arbiterDecline(ctx context.Context, a declineArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.cl.DeclineSeat(ctx, a.DisputeID, a.Reason); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "dispute_id": a.DisputeID, "note": "Seat declined."}, nil
}

func (s *Server) arbiterVote(ctx context.Context, a voteArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.cl.Vote(ctx, a.DisputeID, a.Verdict, a.Reasoning); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "dispute_id": a.DisputeID, "verdict": a.Verdict, "note": "Vote recorded."}, nil
}
