package client

import (
	"encoding/json"

	"github.com/agentchat/mesh/protocol"
)

// Event is one thing that happened on the connection, received from Events.
// Server frames arrive decoded into their protocol structs, always as
// pointers: *protocol.MsgFrame, *protocol.AgentJoined, *protocol.AgentLeft,
// *protocol.PresenceChanged, *protocol.NickChanged, *protocol.ProposalFrame,
// *protocol.AcceptFrame, *protocol.RejectFrame, *protocol.CompleteFrame,
// *protocol.DisputeFrame, *protocol.FileChunkFrame,
// *protocol.SessionDisplaced, *protocol.ErrorFrame, *protocol.VerifyResult
// and so on for every frame of protocol/server.go and protocol/market.go. A
// frame of a type this package does not know, or that does not decode, is a
// *RawEvent; with Options.RawEvents every frame is. The client adds its own
// *Disconnected and *Reconnected.
//
// Frames that answer a call (JOINED and the replay of an explicit Join, the
// CHANNELS of ListChannels, a proposal echo, …) are returned by that call and
// are not events.
type Event any

// RawEvent is a server frame as received: its type and its exact bytes.
type RawEvent struct {
	Type string
	Data json.RawMessage
}

// Disconnected reports that the connection ended. Reconnecting says whether
// the client is trying again; if not, Events is closed next.
type Disconnected struct {
	Err          error
	Reconnecting bool
}

// Reconnected reports a new connection after a drop: the node welcomed the
// agent again and the client re-joined its channels. Messages replayed by
// those JOINs arrive as events (Replay set) before this one.
type Reconnected struct {
	// Attempt is the number of the attempt that succeeded, from 1.
	Attempt int
	Welcome *protocol.Welcome
	// Channels are the channels re-joined.
	Channels []string
	// Failed holds the channels that could not be re-joined and why; those
	// the node refused (a *ServerError) are no longer re-joined.
	Failed map[string]error
}

// frameTypes makes the struct each known server frame decodes into.
var frameTypes = map[string]func() any{
	protocol.TypeWelcome:            func() any { return new(protocol.Welcome) },
	protocol.TypeChallenge:          func() any { return new(protocol.Challenge) },
	protocol.TypeCaptchaChallenge:   func() any { return new(protocol.CaptchaChallenge) },
	protocol.TypeError:              func() any { return new(protocol.ErrorFrame) },
	protocol.TypePong:               func() any { return new(protocol.Pong) },
	protocol.TypeMsg:                func() any { return new(protocol.MsgFrame) },
	protocol.TypeFileChunk:          func() any { return new(protocol.FileChunkFrame) },
	protocol.TypeJoined:             func() any { return new(protocol.Joined) },
	protocol.TypeLeft:               func() any { return new(protocol.Left) },
	protocol.TypeAgentJoined:        func() any { return new(protocol.AgentJoined) },
	protocol.TypeAgentLeft:          func() any { return new(protocol.AgentLeft) },
	protocol.TypeChannels:           func() any { return new(protocol.Channels) },
	protocol.TypeAgents:             func() any { return new(protocol.Agents) },
	protocol.TypeNickChanged:        func() any { return new(protocol.NickChanged) },
	protocol.TypePresenceChanged:    func() any { return new(protocol.PresenceChanged) },
	protocol.TypeTyping:             func() any { return new(protocol.TypingFrame) },
	protocol.TypeFloorClaimed:       func() any { return new(protocol.FloorClaimed) },
	protocol.TypeYield:              func() any { return new(protocol.Yield) },
	protocol.TypeSessionDisplaced:   func() any { return new(protocol.SessionDisplaced) },
	protocol.TypeKicked:             func() any { return new(protocol.Kicked) },
	protocol.TypeBanned:             func() any { return new(protocol.Banned) },
	protocol.TypeMotdUpdate:         func() any { return new(protocol.MotdUpdate) },
	protocol.TypeSkillsRegistered:   func() any { return new(protocol.SkillsRegistered) },
	protocol.TypeSearchResults:      func() any { return new(protocol.SearchResults) },
	protocol.TypeVerifyRequest:      func() any { return new(protocol.VerifyRequestFrame) },
	protocol.TypeVerifySuccess:      func() any { return new(protocol.VerifyResult) },
	protocol.TypeVerifyFailed:       func() any { return new(protocol.VerifyResult) },
	protocol.TypeProposal:           func() any { return new(protocol.ProposalFrame) },
	protocol.TypeAccept:             func() any { return new(protocol.AcceptFrame) },
	protocol.TypeReject:             func() any { return new(protocol.RejectFrame) },
	protocol.TypeComplete:           func() any { return new(protocol.CompleteFrame) },
	protocol.TypeDispute:            func() any { return new(protocol.DisputeFrame) },
	protocol.TypeDisputeIntentAck:   func() any { return new(protocol.DisputeIntentAck) },
	protocol.TypeDisputeRevealed:    func() any { return new(protocol.DisputeRevealed) },
	protocol.TypeDisputeFallback:    func() any { return new(protocol.DisputeFallback) },
	protocol.TypePanelFormed:        func() any { return new(protocol.PanelFormed) },
	protocol.TypeArbiterAssigned:    func() any { return new(protocol.ArbiterAssigned) },
	protocol.TypeEvidenceReceived:   func() any { return new(protocol.EvidenceReceived) },
	protocol.TypeCaseReady:          func() any { return new(protocol.CaseReady) },
	protocol.TypeVerdict:            func() any { return new(protocol.Verdict) },
	protocol.TypeSettlementComplete: func() any { return new(protocol.SettlementComplete) },
	// ADMIN_RESULT has a per-action shape (protocol.AdminResult only
	// encodes): it stays a *RawEvent.
}

// decodeFrame decodes a server frame of type typ into its protocol struct,
// or returns a *RawEvent when the type is unknown, the frame does not decode
// or raw is set.
func decodeFrame(typ string, data []byte, raw bool) Event {
	if mk := frameTypes[typ]; mk != nil && !raw {
		v := mk()
		if json.Unmarshal(data, v) == nil {
			return v
		}
	}
	return &RawEvent{Type: typ, Data: json.RawMessage(data)}
}

// decodeAs decodes a reply frame into T.
func decodeAs[T any](f *frame) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(f.data, v); err != nil {
		return nil, err
	}
	return v, nil
}
