package node

import (
	"github.com/agentchat/mesh/protocol"
)

// courier is the Courier the market uses for one call. Replies go to c
// (or are collected, for a call forwarded from another node); Send reaches
// a local agent, else one on another node, with from as the author.
type courier struct {
	s       *Server
	c       *conn
	from    *AgentRecord // nil: local agents only
	raw     []byte       // the caller's frame as sent, for Forward
	collect *[][]byte    // replies of a forwarded call
}

func (s *Server) courierFor(c *conn, a *agent, raw []byte) courier {
	s.mu.RLock()
	rec := a.record()
	s.mu.RUnlock()
	return courier{s: s, c: c, from: &rec, raw: raw}
}

// Courier returns a Courier for frames a service sends on its own, such as
// expiry notices: Send reaches local agents, Notify any agent on the mesh,
// Reply goes nowhere.
func (s *Server) Courier() Courier { return courier{s: s} }

func (k courier) Reply(frame any) {
	switch {
	case k.collect != nil:
		if b, err := protocol.Encode(frame); err == nil {
			*k.collect = append(*k.collect, b)
		}
	case k.c != nil:
		k.c.sendFrame(frame)
	}
}

func (k courier) Send(id string, frame any) bool {
	k.s.mu.RLock()
	target := k.s.agents[id]
	k.s.mu.RUnlock()
	if target != nil {
		target.sendFrame(frame)
		return true
	}
	if k.from == nil {
		return false
	}
	b, err := protocol.Encode(frame)
	if err != nil {
		return false
	}
	return k.s.fed.SendDirect(k.s.ctx, *k.from, id, b) == nil
}

// Notify delivers a frame of the node's own to agent id: here, or through
// the federation on the node hosting it.
func (k courier) Notify(id string, frame any) bool {
	b, err := protocol.Encode(frame)
	if err != nil {
		return false
	}
	if k.s.DeliverDirect(id, b) {
		return true
	}
	return k.s.fed.Notify(k.s.ctx, id, b) == nil
}

// Forward sends the caller's frame to node and returns the answers. Only a
// call from an agent connected here is forwarded: a forwarded call never
// travels on.
func (k courier) Forward(node string) ([][]byte, error) {
	if k.c == nil || k.from == nil || k.raw == nil {
		return nil, ErrNoRoute
	}
	return k.s.fed.Forward(k.s.ctx, *k.from, node, k.raw)
}
