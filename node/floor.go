package node

import (
	"time"

	"github.com/agentchat/mesh/protocol"
)

// floorKey names a claim: one reply to one message in one channel (§9.5).
type floorKey struct{ channel, msgID string }

// floor is an advisory claim; it never blocks a MSG.
type floor struct {
	holder     string // agent ID, local or on another node
	holderName string
	startedAt  float64
	expires    time.Time
}

// beats reports whether a claim started at startedAt by holder takes the
// floor from cur (nil: nobody holds it): the earlier started_at wins, then
// the lexicographically lower holder ID (§9.5). The order is total, since
// an ID has one holder mesh-wide, so every node that has seen the same
// claims holds the same one, whatever order they arrived in.
func beats(startedAt float64, holder string, cur *floor) bool {
	return cur == nil || cur.startedAt > startedAt || (cur.startedAt == startedAt && cur.holder > holder)
}

// handleRespondingTo implements RESPONDING_TO floor control (§9.5). A
// granted claim is provisional until the mesh has seen it: it is published
// for the other nodes, and an earlier claim from one of them takes the
// floor back (DeliverFloor).
func (s *Server) handleRespondingTo(c *conn, a *agent, m *protocol.RespondingTo) {
	key := floorKey{m.Channel, m.MsgID}
	s.mu.Lock()
	ch := s.channels[m.Channel]
	if ch == nil {
		s.mu.Unlock()
		return
	}
	cur := s.floors[key]
	if !beats(m.StartedAt, a.id, cur) {
		s.mu.Unlock()
		c.sendFrame(yieldFrame(key, cur.holder, cur.startedAt, "Another agent claimed first"))
		return
	}
	rec := a.record()
	b := s.grantLocked(ch, key, rec, m.StartedAt, c)
	previous := s.previousLocked(cur)
	s.mu.Unlock()
	if previous != nil {
		previous.sendFrame(yieldFrame(key, a.id, m.StartedAt, "Earlier started_at timestamp"))
	}
	if b != nil {
		s.fed.Publish(Event{Kind: EventFloorClaim, Agent: rec, Channel: m.Channel, Frame: b})
	}
}

// grantLocked gives holder the floor and sends FLOOR_CLAIMED to the
// channel's local members but skip. It returns the frame (nil if it could
// not be encoded). Caller holds s.mu.
func (s *Server) grantLocked(ch *channel, key floorKey, holder AgentRecord, startedAt float64, skip *conn) []byte {
	s.floors[key] = &floor{holder: holder.ID, holderName: holder.Name, startedAt: startedAt, expires: time.Now().Add(s.cfg.FloorTTL)}
	return ch.relay(floorFrame(key, holder.ID, holder.Name, startedAt), skip)
}

// previousLocked returns the connection of a displaced holder if it is
// local: a holder on another node hears of it from its own node. Caller
// holds s.mu.
func (s *Server) previousLocked(cur *floor) *conn {
	if cur == nil {
		return nil
	}
	return s.agents[cur.holder]
}

func floorFrame(key floorKey, holder, name string, startedAt float64) *protocol.FloorClaimed {
	return &protocol.FloorClaimed{Type: protocol.TypeFloorClaimed, TS: nowMS(), MsgID: key.msgID,
		Channel: key.channel, Holder: "@" + holder, HolderName: name, StartedAt: startedAt}
}

func yieldFrame(key floorKey, holder string, startedAt float64, reason string) *protocol.Yield {
	return &protocol.Yield{Type: protocol.TypeYield, TS: nowMS(), MsgID: key.msgID, Channel: key.channel,
		Holder: "@" + holder, HolderStartedAt: startedAt, Reason: reason}
}

// releaseFloors drops id's claims in a channel it just posted to, here or
// on another node.
func (s *Server) releaseFloors(id, channel string) {
	s.mu.RLock()
	none := len(s.floors) == 0
	s.mu.RUnlock()
	if none { // the common case: keep the MSG path off the write lock
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, f := range s.floors {
		if f.holder == id && k.channel == channel {
			delete(s.floors, k)
		}
	}
}

// dropFloorsLocked drops every claim of id. Caller holds s.mu.
func (s *Server) dropFloorsLocked(id string) {
	for k, f := range s.floors {
		if f.holder == id {
			delete(s.floors, k)
		}
	}
}

func (s *Server) expireFloors(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, f := range s.floors {
		if now.After(f.expires) {
			delete(s.floors, k)
		}
	}
}
