package bridge

import (
	"encoding/json"
	"fmt"

	"github.com/agentchat/mesh/protocol"
)

// chanRecord is a channel topic envelope decoded and checked for shape:
// its frame is of the envelope's kind, for the topic's channel and from
// the envelope's author. Whether the origin may speak for that author is
// checked apart (checkAuthor).
type chanRecord struct {
	chanEnvelope
	msg    protocol.MsgFrame     // Kind ""
	typing protocol.TypingFrame  // kindTyping
	floor  protocol.FloorClaimed // kindFloor
}

// decodeChan decodes a record published on channel name's topic.
func decodeChan(name string, data []byte) (chanRecord, error) {
	var r chanRecord
	if err := json.Unmarshal(data, &r.chanEnvelope); err != nil {
		return r, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	author := "@" + r.Author.ID
	switch r.Kind {
	case "":
		f := &r.msg
		if err := json.Unmarshal(r.Frame, f); err != nil || f.Type != protocol.TypeMsg || f.To != name {
			return r, fmt.Errorf("%w: frame is not a MSG to %s", ErrMalformed, name)
		}
		if f.From != author {
			return r, fmt.Errorf("%w: frame from %s, author %s", ErrNotHost, f.From, r.Author.ID)
		}
	case kindTyping:
		f := &r.typing
		if err := json.Unmarshal(r.Frame, f); err != nil || f.Type != protocol.TypeTyping || f.Channel != name {
			return r, fmt.Errorf("%w: frame is not a TYPING in %s", ErrMalformed, name)
		}
		if f.From != author {
			return r, fmt.Errorf("%w: typing from %s, author %s", ErrNotHost, f.From, r.Author.ID)
		}
	case kindFloor:
		f := &r.floor
		if err := json.Unmarshal(r.Frame, f); err != nil || f.Type != protocol.TypeFloorClaimed || f.Channel != name ||
			f.MsgID == "" || f.StartedAt == 0 || f.TS <= 0 {
			return r, fmt.Errorf("%w: frame is not a FLOOR_CLAIMED in %s", ErrMalformed, name)
		}
		if f.Holder != author {
			return r, fmt.Errorf("%w: claim of %s, author %s", ErrNotHost, f.Holder, r.Author.ID)
		}
	default:
		return r, fmt.Errorf("%w: unknown channel record kind %q", ErrMalformed, r.Kind)
	}
	return r, nil
}
