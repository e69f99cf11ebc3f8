package node

import (
	"context"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// sweep runs the node's timers on one goroutine: keepalive pings, dead-peer
// and identify timeouts, challenge and verification expiry, floor claims.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	lastPing := time.Now()
	var compact compactor
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			doPing := now.Sub(lastPing) >= s.cfg.PingInterval
			if doPing {
				lastPing = now
			}
			s.sweepConns(now, doPing)
			s.expireChallenges(now)
			s.expireVerifies(now)
			s.expireFloors(now)
			s.fireCallbacks(now)
			s.maybeCompact(&compact)
		}
	}
}

func (s *Server) sweepConns(now time.Time, doPing bool) {
	ms := now.UnixMilli()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.conns {
		silent := ms - c.seen.Load()
		switch {
		case silent > s.cfg.PongTimeout.Milliseconds():
			c.log().Info("dead peer dropped", "silent_ms", silent)
			c.terminate()
		case c.agent == nil && c.challenge == "" && now.Sub(c.connected) > s.cfg.IdentifyTimeout:
			c.log().Info("closed: did not identify", "after", s.cfg.IdentifyTimeout)
			c.closeWith(protocol.CloseNormal, "Identify timeout")
		case doPing:
			c.ping()
		}
		if s.cfg.ParkAfter > 0 && silent >= s.cfg.ParkAfter.Milliseconds() {
			c.stopWait()
		}
	}
}
