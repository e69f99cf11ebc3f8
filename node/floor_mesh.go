package node

import (
	"time"

	"github.com/agentchat/mesh/protocol"
)

// Floor claims on the mesh. A node grants a claim by the §9.5 rule against
// the claims it knows and publishes it (EventFloorClaim); every other node
// applies the same rule to it here. Since the rule is a total order
// (beats), all nodes end up holding the best claim any of them granted,
// and a local holder loses the floor, with YIELD, as soon as its node
// learns of a better one. A node that learns of a claim worse than the one
// a local agent holds asserts that claim again (the federation publishes
// it once more and sends it to the node that granted the worse one, which
// may have missed it: it started carrying the channel later).

// DeliverFloor applies a claim that holder, an agent of another node, was
// granted there at granted (ms, the FLOOR_CLAIMED ts). A better claim than
// the current one takes the floor: FLOOR_CLAIMED to every local member,
// YIELD to a local holder it displaces. Another claim, or one that has
// expired already, changes nothing here; when it is worse than a claim a
// local agent holds, DeliverFloor returns that claim's EventFloorClaim for
// the federation to assert again, and nil otherwise.
func (s *Server) DeliverFloor(holder AgentRecord, channel, msgID string, startedAt float64, granted int64) *Event {
	key := floorKey{channel, msgID}
	s.mu.Lock()
	ch := s.channels[channel]
	if ch == nil || !s.floorExpiry(granted).After(time.Now()) {
		s.mu.Unlock()
		return nil
	}
	cur := s.liveFloorLocked(key)
	if !beats(startedAt, holder.ID, cur) {
		again := s.reassertLocked(key, cur, holder.ID, startedAt)
		s.mu.Unlock()
		return again
	}
	s.grantLocked(ch, key, holder, startedAt, granted, nil)
	previous := s.previousLocked(cur)
	s.mu.Unlock()
	if previous != nil {
		previous.sendFrame(yieldFrame(key, holder.ID, startedAt, "Earlier started_at timestamp"))
	}
	return nil
}

// reassertLocked returns the event that asserts cur again when a worse
// claim (not cur itself, heard once more) arrived and cur's holder is
// local; nil otherwise. Caller holds s.mu.
func (s *Server) reassertLocked(key floorKey, cur *floor, holder string, startedAt float64) *Event {
	if cur.holder == holder && cur.startedAt == startedAt {
		return nil
	}
	c := s.agents[cur.holder]
	if c == nil {
		return nil
	}
	b, err := protocol.Encode(floorFrame(key, cur.holder, cur.holderName, cur.startedAt, cur.granted))
	if err != nil {
		return nil
	}
	return &Event{Kind: EventFloorClaim, Agent: c.agent.record(), Channel: key.channel, Frame: b}
}
