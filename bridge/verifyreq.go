package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
)

// VERIFY_REQUEST between nodes (node/verify_mesh.go has the semantics):
// the requester's node asks the target's node, which answers "ok" once its
// agent has the request; later the target's node returns the agent's
// signature, and the requester's node answers with its verdict. Both legs
// are requests (p2p.Host.Request), so they reach nodes several hops away.

// Verification legs.
const (
	verifyAsk    = "ask"
	verifyAnswer = "answer"
)

// Answers to an ask besides a verdict.
const (
	answerOK        = "ok"
	answerNotFound  = "not found"
	answerNoPubkey  = "no pubkey"
	answerDuplicate = "duplicate request id"
	answerBusy      = "too many pending"
)

// maxRequestID bounds a verification request ID on the mesh; the node's
// own are about 30 characters.
const maxRequestID = 64

// verifyMsg is one leg of a verification.
type verifyMsg struct {
	Op        string    `json:"op"`
	RequestID string    `json:"request_id"`
	Agent     agentWire `json:"agent"`            // ask: the requester; answer: the target
	Target    string    `json:"target,omitempty"` // ask: the target's wire ID
	Nonce     string    `json:"nonce"`
	Sig       string    `json:"sig,omitempty"` // answer: the target's signature over Nonce
}

// decodeVerify decodes a verification leg and checks its shape.
func decodeVerify(data []byte) (verifyMsg, error) {
	var m verifyMsg
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%w: verification: %v", ErrMalformed, err)
	}
	n := protocol.UTF16Len(m.Nonce)
	switch {
	case m.RequestID == "" || len(m.RequestID) > maxRequestID:
		return m, fmt.Errorf("%w: verification request id", ErrMalformed)
	case n < 16 || n > 128:
		return m, fmt.Errorf("%w: verification nonce", ErrMalformed)
	case m.Agent.ID == "":
		return m, fmt.Errorf("%w: verification without agent", ErrMalformed)
	case m.Op == verifyAsk && m.Target == "":
		return m, fmt.Errorf("%w: verification ask without target", ErrMalformed)
	case m.Op == verifyAnswer && (m.Sig == "" || m.Agent.Pubkey == ""):
		return m, fmt.Errorf("%w: verification answer without signature or key", ErrMalformed)
	case m.Op != verifyAsk && m.Op != verifyAnswer:
		return m, fmt.Errorf("%w: verification op %q", ErrMalformed, m.Op)
	}
	return m, nil
}

// AskVerify implements node.Federation.
func (b *Bridge) AskVerify(ctx context.Context, from node.AgentRecord, ask node.VerifyAsk) error {
	host, ok := b.hostOf(ctx, ask.Target)
	if !ok {
		return node.ErrNoRoute
	}
	resp, err := b.request(ctx, host, protoVerify, verifyMsg{Op: verifyAsk, RequestID: ask.RequestID,
		Agent: toWire(from, nil), Target: ask.Target, Nonce: ask.Nonce})
	switch {
	case err != nil:
		return err
	case resp == answerOK:
		return nil
	case resp == answerNotFound:
		return node.ErrNoRoute
	case resp == answerNoPubkey:
		return node.ErrNoPubkey
	case resp == answerBusy:
		return node.ErrTooManyVerifies
	}
	return fmt.Errorf("node %s answered %q", short(host), resp)
}

// AnswerVerify implements node.Federation.
func (b *Bridge) AnswerVerify(ctx context.Context, peer string, target node.AgentRecord, ans node.VerifyAnswer) (node.VerifyVerdict, error) {
	resp, err := b.request(ctx, peer, protoVerify, verifyMsg{Op: verifyAnswer, RequestID: ans.RequestID,
		Agent: toWire(target, nil), Nonce: ans.Nonce, Sig: ans.Sig})
	if err != nil {
		return "", err
	}
	switch v := node.VerifyVerdict(resp); v {
	case node.VerdictVerified, node.VerdictFailed, node.VerdictExpired:
		return v, nil
	}
	return "", fmt.Errorf("node %s answered %q", short(peer), resp)
}

// handleVerify runs a verification leg from another node, whose agent it
// names must be hosted there.
func (b *Bridge) handleVerify(_ context.Context, peer string, req []byte) ([]byte, error) {
	m, err := decodeVerify(req)
	if err == nil {
		err = b.checkAuthor(peer, &m.Agent)
	}
	if err != nil {
		b.reject(peer, "verify", err)
		return []byte("refused: " + err.Error()), nil
	}
	if m.Op == verifyAnswer {
		v, err := b.srv.HandleVerifyAnswer(m.Agent.record(), node.VerifyAnswer{RequestID: m.RequestID, Nonce: m.Nonce, Sig: m.Sig})
		if err != nil {
			return []byte("refused: " + err.Error()), nil
		}
		return []byte(v), nil
	}
	err = b.srv.HandleVerifyAsk(m.Agent.record(), peer, node.VerifyAsk{RequestID: m.RequestID, Target: m.Target, Nonce: m.Nonce})
	switch {
	case err == nil:
		return []byte(answerOK), nil
	case errors.Is(err, node.ErrNoRoute):
		return []byte(answerNotFound), nil
	case errors.Is(err, node.ErrNoPubkey):
		return []byte(answerNoPubkey), nil
	case errors.Is(err, node.ErrTooManyVerifies):
		return []byte(answerBusy), nil
	}
	return []byte(answerDuplicate), nil
}
