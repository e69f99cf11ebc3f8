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
	granted    int64 // ms on the granting node's clock: its FLOOR_CLAIMED ts
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

// liveFloorLocked returns the claim on key, nil if there is none or it
// has expired: a claim past its time no longer counts, whenever the sweep
// comes. Caller holds s.mu.
func (s *Server) liveFloorLocked(key floorKey) *floor {
	f := s.floors[key]
	if f != nil && time.Now().After(f.expires) {
		delete(s.floors, key)
		return nil
	}
	return f
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
	cur := s.liveFloorLocked(key)
	if !beats(m.StartedAt, a.id, cur) {
		s.mu.Unlock()
		c.sendFrame(yieldFrame(key, cur.holder, cur.startedAt, "Another agent claimed first"))
		return
	}
	rec := a.record()
	b := s.grantLocked(ch, key, rec, m.StartedAt, nowMS(), c)
	previous := s.previousLocked(cur)
	s.mu.Unlock()
	if previous != nil {
		previous.sendFrame(yieldFrame(key, a.id, m.StartedAt, "Earlier started_at timestamp"))
	}
	if b != nil {
		s.fed.Publish(Event{Kind: EventFloorClaim, Agent: rec, Channel: m.Channel, Frame: b})
	}
}

// grantLocked gives holder the floor, as its node granted it at granted,
// and sends FLOOR_CLAIMED to the channel's local members but skip. It
// returns the frame (nil if it could not be encoded). Caller holds s.mu.
func (s *Server) grantLocked(ch *channel, key floorKey, holder AgentRecord, startedAt float64, granted int64, skip *conn) []byte {
	s.floors[key] = &floor{holder: holder.ID, holderName: holder.Name, startedAt: startedAt, granted: granted,
		expires: s.floorExpiry(granted)}
	return ch.relay(floorFrame(key, holder.ID, holder.Name, startedAt, granted), skip)
}

// floorExpiry returns when a claim granted at granted (ms) ends: FloorTTL
// after the grant, so every node ends it together however late it heard
// of it (as far as the nodes' clocks agree), and a claim made after it
// ended on one node is not ignored by another still holding the old one.
// A grant time ahead of this node's clock counts as now.
func (s *Server) floorExpiry(granted int64) time.Time {
	at := time.UnixMilli(granted)
	if now := time.Now(); at.After(now) {
		at = now
	}
	return at.Add(s.cfg.FloorTTL)
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

func floorFrame(key floorKey, holder, name string, startedAt float64, granted int64) *protocol.FloorClaimed {
	return &protocol.FloorClaimed{Type: protocol.TypeFloorClaimed, TS: granted, MsgID: key.msgID,
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
