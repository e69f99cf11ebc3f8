package bridge

import (
	"encoding/json"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
)

// Topic names and stream protocols. Wire names are append-only.
const (
	rosterTopic   = "agentchat/1/roster"
	chanPrefix    = "agentchat/1/chan/"
	protoDirect   = "/agentchat/dm/1"
	protoHistory  = "/agentchat/history/1"
	protoSnapshot = "/agentchat/roster/1"
	protoVerify   = "/agentchat/verify/1"
)

func chanTopic(name string) string { return chanPrefix + name }

// agentWire is an agent record on the mesh: the wire ID and the full key,
// name, presence, and the session attestation.
type agentWire struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Pubkey     string             `json:"pubkey,omitempty"`
	Verified   bool               `json:"verified,omitempty"`
	Presence   string             `json:"presence,omitempty"`
	StatusText *string            `json:"status_text,omitempty"`
	Proof      *node.SessionProof `json:"proof,omitempty"`
	Channels   []string           `json:"channels,omitempty"`
}

func toWire(r node.AgentRecord, channels []string) agentWire {
	return agentWire{ID: r.ID, Name: r.Name, Pubkey: r.Pubkey, Verified: r.Verified, Presence: r.Presence,
		StatusText: r.StatusText, Proof: r.Proof, Channels: channels}
}

func (a agentWire) record() node.AgentRecord {
	return node.AgentRecord{ID: a.ID, Name: a.Name, Pubkey: a.Pubkey, Verified: a.Verified, Presence: a.Presence,
		StatusText: a.StatusText, Proof: a.Proof}
}

// chanEnvelope is one record on a channel topic: a channel message (Kind
// "") or an ephemeral record (kindTyping, kindFloor), each with the frame
// local members got. Seq counts this origin's messages on this channel
// within Epoch (one boot of the origin), so receivers restore the origin's
// order and drop replays; ephemeral records take no number (Seq 0), are
// delivered as they come and never enter history.
type chanEnvelope struct {
	Kind   string          `json:"k,omitempty"`
	Epoch  int64           `json:"e"`
	Seq    uint64          `json:"s"`
	Author agentWire       `json:"a"`
	Frame  json.RawMessage `json:"f"`
}

// Channel record kinds besides messages.
const (
	kindTyping = "typing" // Frame: the author's TYPING
	kindFloor  = "floor"  // Frame: the FLOOR_CLAIMED of a claim the origin granted the author
)

// Roster envelope kinds.
const (
	kindUp       = "up"   // an agent is here (or changed): full record
	kindDown     = "down" // an agent left this node
	kindBeat     = "hb"   // this node is alive; Seq is its latest roster seq; Addrs how to dial it
	kindSnapshot = "snap" // the whole roster of this node
	kindChannel  = "chan" // channel metadata (creation, invites)
	kindBye      = "bye"  // this node is leaving the mesh
)

// rosterEnvelope is one message on the roster topic.
type rosterEnvelope struct {
	Epoch    int64              `json:"e"`
	Seq      uint64             `json:"s"`
	Kind     string             `json:"k"`
	Agent    *agentWire         `json:"a,omitempty"`
	ID       string             `json:"id,omitempty"`
	Agents   []agentWire        `json:"agents,omitempty"`
	Channels []node.ChannelMeta `json:"channels,omitempty"`
	Addrs    []string           `json:"addrs,omitempty"` // the origin's listen addresses
}

// directRequest carries a DM or file chunk to the hosting node, with its
// author's record so the receiver can check the sending node hosts the
// author even before the roster has told it so.
type directRequest struct {
	To    string          `json:"to"`
	From  agentWire       `json:"from"`
	Frame json.RawMessage `json:"frame"`
}

// historyRequest asks a peer for a channel's buffer.
type historyRequest struct {
	Channel string `json:"channel"`
}

type historyResponse struct {
	Frames []protocol.MsgFrame `json:"frames"`
	// Seqs says how far the answering node has each origin's messages on
	// the channel (seqhint.go); older nodes omit it.
	Seqs []seqHint `json:"seqs,omitempty"`
}
