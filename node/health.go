package node

import (
	"encoding/json"
	"net/http"
	"time"
)

// health is the body of GET /health (§1.1).
type health struct {
	Status        string        `json:"status"`
	Server        string        `json:"server"`
	Version       string        `json:"version"`
	UptimeSeconds int64         `json:"uptime_seconds"`
	StartedAt     *string       `json:"started_at"`
	Agents        healthAgents  `json:"agents"`
	Channels      healthChans   `json:"channels"`
	Proposals     ProposalStats `json:"proposals"`
	Timestamp     string        `json:"timestamp"`
	// NodeID is the node's public key (hex); the mesh names the node by it.
	NodeID string `json:"node_id"`
	// Mesh describes the node's place in the mesh, when it has one.
	Mesh any `json:"mesh,omitempty"`
}

type healthAgents struct {
	Connected    int `json:"connected"`
	WithIdentity int `json:"with_identity"`
	// Parked counts identified agents idle long enough that their socket
	// holds no reader goroutine (park.go); not in the original.
	Parked int `json:"parked"`
}

type healthChans struct {
	Total  int `json:"total"`
	Public int `json:"public"`
}

func (s *Server) serveHealth(w http.ResponseWriter) {
	h := health{Status: "healthy", Server: s.cfg.ServerName, Version: s.cfg.Version,
		Proposals: s.market.Stats(), Timestamp: isoTime(time.Now()), NodeID: hexKey(s.bind)}
	if s.cfg.Mesh != nil {
		h.Mesh = s.cfg.Mesh()
	}
	if !s.started.IsZero() {
		st := isoTime(s.started)
		h.StartedAt = &st
		h.UptimeSeconds = int64(time.Since(s.started).Seconds())
	}
	a := s.agentCounts()
	h.Agents = healthAgents{Connected: a.connected, WithIdentity: a.withIdentity, Parked: a.parked}
	s.mu.RLock()
	for _, ch := range s.channels {
		h.Channels.Total++
		if !ch.inviteOnly {
			h.Channels.Public++
		}
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, h)
}

// serveConnections is GET /api/connections, for operators (§1.1).
func (s *Server) serveConnections(w http.ResponseWriter, r *http.Request) {
	if !s.adminOK(r.Header.Get("X-Admin-Key")) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Unauthorized"})
		return
	}
	type entry struct {
		AgentID     string `json:"agent_id"`
		IP          string `json:"ip"`
		ConnectedAt int64  `json:"connected_at"`
		UserAgent   string `json:"user_agent"`
	}
	list := []entry{}
	s.mu.RLock()
	for id, c := range s.agents {
		list = append(list, entry{AgentID: id, IP: c.ip, ConnectedAt: c.connected.UnixMilli(), UserAgent: c.userAgent})
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"connections": list, "count": len(list)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
