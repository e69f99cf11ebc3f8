package node

import "context"

// AgentRecord describes a local agent to the rest of the mesh.
type AgentRecord struct {
	ID         string // wire ID, no "@"
	Name       string
	Pubkey     string // PEM as sent; "" for ephemeral agents
	Verified   bool
	Presence   string
	StatusText *string
	// Proof is what the agent signed to pass the challenge on this node
	// (session attestation, DESIGN.md); nil for ephemeral agents.
	Proof *SessionProof
}

// SessionProof lets another node check that the agent authenticated here:
// the nonce derives from this node's key and Salt, and Signature is the
// agent's signature over the auth string.
type SessionProof struct {
	ChallengeID string
	Nonce       string
	Salt        []byte
	Timestamp   float64
	Signature   string
}

// EventKind names what happened to a local agent.
type EventKind int

// The events a node reports to its Federation.
const (
	EventAgentOnline EventKind = iota + 1
	EventAgentUpdated
	EventAgentOffline
	EventJoin
	EventLeave
	EventChannelMsg
	EventChannelCreated
	EventInvite
	// EventTyping and EventFloorClaim carry a TYPING or a granted
	// RESPONDING_TO claim (Frame: the TYPING or FLOOR_CLAIMED frame local
	// members got). They are ephemeral: not numbered, never in history.
	EventTyping
	EventFloorClaim
)

// Event is one local change the mesh should learn about. Frame, when set,
// is the encoded frame local members received, ready to forward.
type Event struct {
	Kind    EventKind
	Agent   AgentRecord
	Channel string
	// Target is the invited agent ID (EventInvite).
	Target string
	// InviteOnly and VerifiedOnly describe a created channel.
	InviteOnly, VerifiedOnly bool
	Frame                    []byte
}

// Federation is how the node reaches other nodes. The bridge implements it;
// Noop serves a node alone. Methods must not block on the network: the node
// calls them from connection goroutines.
type Federation interface {
	// Publish reports a local event. Fire and forget.
	Publish(ev Event)
	// SendDirect delivers an encoded frame from a local agent to agent id
	// on whichever node hosts it. ErrNoRoute: no node is known to host
	// it; any other error: the hosting node could not take it.
	SendDirect(ctx context.Context, from AgentRecord, id string, frame []byte) error
	// Notify delivers an encoded frame the node sends on its own account
	// (agentcourt) to agent id on whichever node hosts it; ErrNoRoute as
	// for SendDirect. The hosting node learns from it where the dispute the
	// frame names is held (Server.DeliverNotice).
	Notify(ctx context.Context, id string, frame []byte) error
	// Serve is called before the first local agent joins a channel: the
	// federation starts carrying it and seeds its history from a peer. It
	// returns when done or after a short bound; it must not fail the JOIN.
	Serve(ctx context.Context, channel string)
	// Forward sends a marketplace operation (the agent's frame as sent) to
	// the node that holds its proposal, and returns the frames for the
	// agent. ErrNoRoute: that node is not reachable.
	Forward(ctx context.Context, from AgentRecord, node string, frame []byte) ([][]byte, error)
	// AskVerify delivers a local agent's VERIFY_REQUEST to the node hosting
	// its target (HandleVerifyAsk there). ErrNoRoute: no node hosts the
	// target; ErrNoPubkey: the target has no key; any other error: the
	// hosting node could not take it.
	AskVerify(ctx context.Context, from AgentRecord, ask VerifyAsk) error
	// AnswerVerify returns a local target's VERIFY_RESPONSE to the node of
	// the requester (HandleVerifyAnswer there) and reports its verdict.
	AnswerVerify(ctx context.Context, node string, target AgentRecord, ans VerifyAnswer) (VerifyVerdict, error)
}

// Noop is the Federation of a node that is alone: nothing leaves it and no
// remote agent exists.
type Noop struct{}

// Publish drops the event.
func (Noop) Publish(Event) {}

// Serve has nothing to fetch.
func (Noop) Serve(context.Context, string) {}

// Forward reports that no other node exists.
func (Noop) Forward(context.Context, AgentRecord, string, []byte) ([][]byte, error) {
	return nil, ErrNoRoute
}

// Notify reports that no other node exists.
func (Noop) Notify(context.Context, string, []byte) error { return ErrNoRoute }

// SendDirect reports that no other node exists.
func (Noop) SendDirect(context.Context, AgentRecord, string, []byte) error { return ErrNoRoute }

// AskVerify reports that no other node exists.
func (Noop) AskVerify(context.Context, AgentRecord, VerifyAsk) error { return ErrNoRoute }

// AnswerVerify reports that no other node exists.
func (Noop) AnswerVerify(context.Context, string, AgentRecord, VerifyAnswer) (VerifyVerdict, error) {
	return "", ErrNoRoute
}
