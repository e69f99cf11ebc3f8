package testnet

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// Settle runs one proposal to completion between two new agents with
// persistent identities on the node at ws (its market must allow COMPLETE
// at once: MinAge 0) and returns their IDs, proposer first. The agents
// stay connected until ctx ends.
func Settle(ctx context.Context, ws, fromName, toName string) (from, to string, err error) {
	type party struct {
		a   *Agent
		key ed25519.PrivateKey
	}
	dial := func(name string) (party, error) {
		_, priv, err := identity.GenerateKey()
		if err != nil {
			return party{}, err
		}
		a, err := Dial(ctx, ws)
		if err != nil {
			return party{}, err
		}
		context.AfterFunc(ctx, func() { a.Close() })
		if _, err := a.Identify(ctx, name, priv); err != nil {
			return party{}, err
		}
		return party{a, priv}, nil
	}
	expect := func(p party, typ string) (Frame, error) {
		f, err := p.a.Next(ctx, typ, "ERROR")
		if err == nil && f.Type != typ {
			err = fmt.Errorf("settle: want %s, got %s", typ, f.Raw)
		}
		return f, err
	}
	a, err := dial(fromName)
	if err != nil {
		return "", "", err
	}
	b, err := dial(toName)
	if err != nil {
		return "", "", err
	}
	target := "@" + b.a.ID
	if err := a.a.Send(map[string]any{"type": "PROPOSAL", "to": target, "task": "t",
		"sig": identity.Sign(a.key, protocol.ProposalSigningString(target, "t", nil, "", "", nil, nil))}); err != nil {
		return "", "", err
	}
	p, err := expect(a, "PROPOSAL")
	if err != nil {
		return "", "", err
	}
	id := p.String("id")
	if err := b.a.Send(map[string]any{"type": "ACCEPT", "proposal_id": id,
		"sig": identity.Sign(b.key, protocol.AcceptSigningString(id, "", nil))}); err != nil {
		return "", "", err
	}
	if _, err := expect(a, "ACCEPT"); err != nil {
		return "", "", err
	}
	if err := a.a.Send(map[string]any{"type": "COMPLETE", "proposal_id": id,
		"sig": identity.Sign(a.key, protocol.CompleteSigningString(id, ""))}); err != nil {
		return "", "", err
	}
	if _, err := expect(a, "COMPLETE"); err != nil {
		return "", "", err
	}
	return a.a.ID, b.a.ID, nil
}
