package node

import (
	"fmt"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// Revocations tells the node which agent keys the mesh has revoked. The
// market implements it from the revocation records every node replicates,
// so a key revoked on one node stops authenticating on all of them.
type Revocations interface {
	// Revoked reports whether key id (agent ID, no "@") is revoked, and
	// from when (Unix ms).
	Revoked(id string) (at int64, revoked bool)
}

// revokedAt reports whether key id may no longer authenticate, and the
// revocation's time. A known revocation takes effect at once, even if it
// names a later time (a clock ahead of ours): the holder has declared the
// key untrusted, and the time only decides which receipts still count. A
// node without Revocations knows of none.
func (s *Server) revokedAt(id string) (time.Time, bool) {
	if s.cfg.Revocations == nil {
		return time.Time{}, false
	}
	ms, ok := s.cfg.Revocations.Revoked(id)
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// CloseRevoked ends the session of every local agent whose key is now
// revoked: KICKED with the reason, then a normal close, as an admin kick
// does. It makes a revocation learned from the mesh take effect on live
// connections, not only at the next challenge. It returns how many
// sessions it closed.
func (s *Server) CloseRevoked() int {
	s.mu.RLock()
	ids := make([]string, 0, len(s.agents))
	for id := range s.agents {
		ids = append(ids, id)
	}
	s.mu.RUnlock()
	closed := 0
	for _, id := range ids {
		at, revoked := s.revokedAt(id)
		if !revoked {
			continue
		}
		s.mu.RLock()
		target := s.agents[id]
		s.mu.RUnlock()
		if target == nil {
			continue
		}
		reason := fmt.Sprintf("Key @%s was revoked at %s", id, at.Format(time.RFC3339))
		target.sendFrame(&protocol.Kicked{Type: protocol.TypeKicked, TS: nowMS(), Reason: reason})
		s.disconnect(target)
		target.closeWith(protocol.CloseNormal, "Key revoked")
		s.log.Info("revoked key disconnected", "agent", id)
		closed++
	}
	return closed
}
