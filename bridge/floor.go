package bridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentchat/mesh/node"
)

// Floor claims between nodes. A granted claim is published on its
// channel's topic like TYPING (publish.go); a node whose local agent holds
// a better claim than one it hears asserts its own claim again, on the
// topic and straight to the node that granted the worse one. The topic
// alone is not enough: gossipsub forwards a record only along the topic's
// mesh, and a node that just started carrying the channel (the one likely
// to have missed the better claim) is grafted into it at a heartbeat, too
// late for a record forwarded before and too early to be offered it again
// as gossip. The request (routed through the mesh when the granting node
// is not a neighbour) does not depend on the mesh's shape.

// protoFloor carries a floor record (a chanEnvelope of kindFloor) to the
// node that granted a worse claim.
const protoFloor = "/agentchat/floor/1"

type floorRequest struct {
	Channel string          `json:"channel"`
	Record  json.RawMessage `json:"record"`
}

// deliverFloor applies r, a claim origin granted on channel, and asserts
// the better claim a local agent holds, if any, back to origin and the
// topic.
func (b *Bridge) deliverFloor(channel, origin string, r *chanRecord) {
	again := b.srv.DeliverFloor(r.Author.record(), channel, r.floor.MsgID, r.floor.StartedAt, r.floor.TS)
	if again == nil {
		return
	}
	b.Publish(*again)
	data, err := b.envelope(*again, 0)
	if err != nil {
		b.log.Error("encode floor claim", "err", err)
		return
	}
	b.spawn(func() {
		resp, err := b.request(b.ctx, origin, protoFloor, floorRequest{Channel: channel, Record: data})
		if err == nil && resp != "ok" {
			err = fmt.Errorf("node %s answered %q", short(origin), resp)
		}
		if err != nil && b.ctx.Err() == nil {
			b.log.Info("floor claim not asserted to its rival's node", "channel", channel, "peer", short(origin), "err", err)
		}
	})
}

// handleFloor applies a floor record another node sent straight here. The
// sender must host the claim's holder, as on the topic.
func (b *Bridge) handleFloor(_ context.Context, peer string, req []byte) ([]byte, error) {
	channel, r, err := decodeFloorRequest(req)
	if err == nil {
		err = b.checkAuthor(peer, &r.Author)
	}
	if err != nil {
		b.reject(peer, "floor", err)
		return []byte("refused: " + err.Error()), nil
	}
	b.deliverFloor(channel, peer, &r)
	return []byte("ok"), nil
}

// decodeFloorRequest decodes a floor request: a floor record for the
// channel it names.
func decodeFloorRequest(req []byte) (string, chanRecord, error) {
	var fr floorRequest
	if err := json.Unmarshal(req, &fr); err != nil {
		return "", chanRecord{}, fmt.Errorf("%w: floor request: %v", ErrMalformed, err)
	}
	r, err := decodeChan(fr.Channel, fr.Record)
	if err == nil && r.Kind != kindFloor {
		err = fmt.Errorf("%w: record kind %q is not a floor claim", ErrMalformed, r.Kind)
	}
	return fr.Channel, r, err
}

// envelope encodes ev as a record of its channel's topic with sequence
// number seq (0 for an ephemeral record).
func (b *Bridge) envelope(ev node.Event, seq uint64) ([]byte, error) {
	return marshal(chanEnvelope{Kind: recordKind(ev.Kind), Epoch: b.epoch, Seq: seq, Author: toWire(ev.Agent, nil), Frame: ev.Frame})
}
