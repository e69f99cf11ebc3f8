package node

import (
	"time"

	"github.com/agentchat/mesh/protocol"
)

// floorKey names a claim: one reply to one message in one channel (§9.5).
type floorKey struct{ channel, msgID string }

// floor is an advisory claim; it never blocks a MSG.
type floor struct {
	holder     string // agent ID
	holderName string
	startedAt  float64
	expires    time.Time
}

// handleRespondingTo implements RESPONDING_TO floor control (§9.5).
func (s *Server) handleRespondingTo(c *conn, a *agent, m *protocol.RespondingTo) {
	key := floorKey{m.Channel, m.MsgID}
	s.mu.Lock()
	ch := s.channels[m.Channel]
	if ch == nil {
		s.mu.Unlock()
		return
	}
	cur := s.floors[key]
	granted := cur == nil || cur.startedAt > m.StartedAt ||
		(cur.startedAt == m.StartedAt && cur.holder > a.id)
	if !granted {
		s.mu.Unlock()
		c.sendFrame(&protocol.Yield{Type: protocol.TypeYield, TS: nowMS(), MsgID: m.MsgID, Channel: m.Channel,
			Holder: "@" + cur.holder, HolderStartedAt: cur.startedAt, Reason: "Another agent claimed first"})
		return
	}
	s.floors[key] = &floor{holder: a.id, holderName: a.name, startedAt: m.StartedAt, expires: time.Now().Add(s.cfg.FloorTTL)}
	var previous *conn
	if cur != nil {
		previous = s.agents[cur.holder]
	}
	b, err := protocol.Encode(&protocol.FloorClaimed{Type: protocol.TypeFloorClaimed, TS: nowMS(), MsgID: m.MsgID,
		Channel: m.Channel, Holder: a.at(), HolderName: a.name, StartedAt: m.StartedAt})
	if err == nil {
		ch.mu.Lock()
		ch.broadcast(b, c)
		ch.mu.Unlock()
	}
	s.mu.Unlock()
	if previous != nil {
		previous.sendFrame(&protocol.Yield{Type: protocol.TypeYield, TS: nowMS(), MsgID: m.MsgID, Channel: m.Channel,
			Holder: a.at(), HolderStartedAt: m.StartedAt, Reason: "Earlier started_at timestamp"})
	}
}

// releaseFloors drops id's claims in a channel it just posted to.
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
