package node

import (
	"errors"
	"io"
	"net/http"

	"github.com/agentchat/mesh/identity"
)

// Bans is the node's set of operator ban records, for the federation to
// replicate.
func (s *Server) Bans() *BanSet { return s.bans }

// serveBans answers GET /bans (the newest record of each operator about
// each agent, and whether this node enforces it) and POST /bans (publish a
// signed record: verified, stored, enforced if honoured, then gossiped).
func (s *Server) serveBans(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, s.bans.Records())
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, identity.MaxBanRecord+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rec, err := identity.DecodeBan(data)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	isNew, err := s.bans.add(r.Context(), rec)
	if errors.Is(err, ErrBanSetFull) {
		writeJSON(w, http.StatusInsufficientStorage, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		s.log.Error("store operator ban", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if isNew && s.cfg.OnBan != nil {
		s.cfg.OnBan(rec.Encode())
	}
	s.log.Info("operator ban published", "agent", rec.AgentID, "operator", rec.Operator[:16], "lift", rec.Lift, "new", isNew)
	writeJSON(w, http.StatusOK, map[string]any{"id": rec.ID(), "new": isNew,
		"honoured": s.bans.honours(rec.Operator)})
}
