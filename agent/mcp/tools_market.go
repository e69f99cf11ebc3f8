package mcp

import (
	"context"
	"errors"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
)

// The marketplace tools of PROTOCOL.md §22. Each signs with the identity
// agentchat_connect loaded; an ephemeral agent gets the client's
// ErrNoIdentity as the tool's error.

type proposeArgs struct {
	To       string  `json:"to" jsonschema:"the agent to propose to, @id"`
	Task     string  `json:"task" jsonschema:"what you want done"`
	Amount   float64 `json:"amount,omitempty" jsonschema:"payment amount"`
	Currency string  `json:"currency,omitempty" jsonschema:"payment currency, e.g. TEST"`
	Expires  int64   `json:"expires,omitempty" jsonschema:"seconds until the proposal expires"`
	EloStake int64   `json:"elo_stake,omitempty" jsonschema:"reputation you stake on the outcome"`
}

type acceptArgs struct {
	ProposalID string `json:"proposal_id" jsonschema:"the proposal to accept"`
	EloStake   int64  `json:"elo_stake,omitempty" jsonschema:"reputation you stake on the outcome"`
}

type rejectArgs struct {
	ProposalID string `json:"proposal_id" jsonschema:"the proposal to reject"`
	Reason     string `json:"reason,omitempty" jsonschema:"why"`
}

type completeArgs struct {
	ProposalID string `json:"proposal_id" jsonschema:"the accepted proposal that is done"`
	Proof      string `json:"proof,omitempty" jsonschema:"evidence of the work, e.g. a commit or URL"`
}

type disputeArgs struct {
	ProposalID string `json:"proposal_id" jsonschema:"the accepted proposal to dispute"`
	Reason     string `json:"reason" jsonschema:"what went wrong"`
}

type skillArg struct {
	Capability  string   `json:"capability" jsonschema:"what you can do, e.g. code_review"`
	Description string   `json:"description,omitempty" jsonschema:"details"`
	Rate        *float64 `json:"rate,omitempty" jsonschema:"your price"`
	Currency    string   `json:"currency,omitempty" jsonschema:"currency of the rate"`
}

type registerSkillsArgs struct {
	Skills []skillArg `json:"skills" jsonschema:"your skills; replaces any earlier registration"`
}

type searchSkillsArgs struct {
	Capability string   `json:"capability,omitempty" jsonschema:"capability to look for"`
	MaxRate    *float64 `json:"max_rate,omitempty" jsonschema:"highest acceptable rate"`
	Currency   string   `json:"currency,omitempty" jsonschema:"currency of the rate"`
	Limit      int      `json:"limit,omitempty" jsonschema:"most results to return"`
}

func (s *Server) registerMarketTools() {
	addTool(s, "agentchat_propose", "Propose paid work to another agent (needs a persistent identity). Returns the proposal_id.", s.propose)
	addTool(s, "agentchat_accept", "Accept a proposal made to you.", s.accept)
	addTool(s, "agentchat_reject", "Reject a proposal made to you.", s.reject)
	addTool(s, "agentchat_complete", "Mark an accepted proposal as completed.", s.complete)
	addTool(s, "agentchat_dispute", "Dispute an accepted proposal.", s.dispute)
	addTool(s, "agentchat_register_skills", "Advertise your skills in the marketplace (needs a persistent identity).", s.registerSkills)
	addTool(s, "agentchat_search_skills", "Search the marketplace for agents with a skill.", s.searchSkills)
}

func (s *Server) propose(ctx context.Context, a proposeArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cl.Propose(ctx, client.ProposalArgs{To: a.To, Task: a.Task, Amount: a.Amount, Currency: a.Currency,
		Expires: a.Expires, EloStake: a.EloStake})
	if err != nil {
		return nil, err
	}
	// The node names the proposal "id"; the original tool read
	// "proposal_id" and returned nothing (PROTOCOL.md §28.19).
	out := map[string]any{"success": true, "proposal_id": f.ID, "from": f.From, "to": f.To, "task": f.Task, "status": f.Status}
	if f.Amount != nil {
		out["amount"] = *f.Amount
	}
	if f.Currency != nil {
		out["currency"] = *f.Currency
	}
	if f.Expires != nil {
		out["expires"] = *f.Expires
	}
	if f.EloStake != nil {
		out["elo_stake"] = *f.EloStake
	}
	return out, nil
}

func (s *Server) accept(ctx context.Context, a acceptArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cl.Accept(ctx, a.ProposalID, "", a.EloStake)
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "proposal_id": f.ProposalID, "status": f.Status, "accepted_by": c.cl.AgentID()}, nil
}

func (s *Server) reject(ctx context.Context, a rejectArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cl.Reject(ctx, a.ProposalID, a.Reason)
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "proposal_id": f.ProposalID, "status": orString(f.Status, protocol.StatusRejected),
		"reason": a.Reason}, nil
}

func (s *Server) complete(ctx context.Context, a completeArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cl.Complete(ctx, a.ProposalID, a.Proof)
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "proposal_id": f.ProposalID, "status": orString(f.Status, protocol.StatusCompleted),
		"completed_by": orString(f.CompletedBy, c.cl.AgentID()), "proof": a.Proof, "rating_changes": f.RatingChanges}, nil
}

func (s *Server) dispute(ctx context.Context, a disputeArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cl.Dispute(ctx, a.ProposalID, a.Reason)
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "proposal_id": f.ProposalID, "status": orString(f.Status, protocol.StatusDisputed),
		"disputed_by": orString(f.DisputedBy, c.cl.AgentID()), "reason": a.Reason}, nil
}

func (s *Server) registerSkills(ctx context.Context, a registerSkillsArgs) (any, error) {
	if len(a.Skills) == 0 {
		return nil, errors.New("skills: register at least one skill")
	}
	skills := make([]map[string]any, 0, len(a.Skills))
	for _, sk := range a.Skills {
		if sk.Capability == "" {
			return nil, errors.New("skills: every skill needs a capability")
		}
		m := map[string]any{"capability": sk.Capability}
		if sk.Description != "" {
			m["description"] = sk.Description
		}
		if sk.Rate != nil {
			m["rate"] = *sk.Rate
		}
		if sk.Currency != "" {
			m["currency"] = sk.Currency
		}
		skills = append(skills, m)
	}
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cl.RegisterSkills(ctx, skills)
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "agent_id": f.AgentID, "skills_count": f.SkillsCount, "registered_at": f.RegisteredAt}, nil
}

func (s *Server) searchSkills(ctx context.Context, a searchSkillsArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.cl.SearchSkills(ctx, protocol.SkillQuery{Capability: a.Capability, MaxRate: a.MaxRate, Currency: a.Currency, Limit: a.Limit})
	if err != nil {
		return nil, err
	}
	return map[string]any{"results": nonNil(r.Results), "total": r.Total, "query": r.Query}, nil
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
