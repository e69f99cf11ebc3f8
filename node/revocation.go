package node

import "time"

// Revocations tells the node which agent keys the mesh has revoked. The
// market implements it from the revocation records every node replicates,
// so a key revoked on one node stops authenticating on all of them.
type Revocations interface {
	// Revoked reports whether key id (agent ID, no "@") is revoked, and
	// from when (Unix ms).
	Revoked(id string) (at int64, revoked bool)
}

// revokedAt reports whether key id may no longer authenticate, and since
// when. A node without Revocations knows of none.
func (s *Server) revokedAt(id string) (time.Time, bool) {
	if s.cfg.Revocations == nil {
		return time.Time{}, false
	}
	ms, ok := s.cfg.Revocations.Revoked(id)
	if !ok || time.Now().UnixMilli() < ms {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}
