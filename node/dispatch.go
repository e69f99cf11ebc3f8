package node

import (
	"time"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// Texts agents see for tier failures (§2).
var (
	errAuthRequired = protocol.Errorf(protocol.CodeAuthRequired, "Must IDENTIFY first")
	errSigRequired  = protocol.Errorf(protocol.CodeSignatureRequired, "This operation requires a persistent identity (pubkey)")
)

// handleFrame runs on the connection's reader goroutine for every inbound
// frame: flood control, decode and validate, then dispatch. Every failure
// an agent causes becomes an ERROR frame (or a documented close) here.
func (s *Server) handleFrame(c *conn, data []byte) {
	now := time.Now()
	s.mu.RLock()
	identified := c.agent != nil
	s.mu.RUnlock()
	if s.cfg.RateLimits {
		if !identified {
			if !c.window.allow(now, s.cfg.PreAuthFrames, s.cfg.RateWindow) {
				c.log().Warn("pre-auth flood", "limit", s.cfg.PreAuthFrames)
				s.metrics.limited("pre_auth")
				c.closeWith(protocol.ClosePolicy, "Rate limit exceeded")
				return
			}
		} else if !c.window.allow(now, s.cfg.PostAuthFrames, s.cfg.RateWindow) {
			s.metrics.limited("post_auth")
			c.sendError(protocol.Errorf(protocol.CodeRateLimited, "Rate limit exceeded (max %d messages per %s)", s.cfg.PostAuthFrames, s.cfg.RateWindow))
			return
		}
	}
	if len(data) > protocol.DefaultMaxFrame && int64(len(data)) > s.cfg.MaxFrame {
		c.sendError(protocol.Errorf(protocol.CodeInvalidMsg, "Message too large (%d bytes, max %d)", len(data), s.cfg.MaxFrame))
		return
	}
	m, perr := protocol.Decode(data, s.cfg.Limits)
	if perr == nil {
		if id, ok := m.(*protocol.Identify); ok && id.Pubkey != "" {
			if _, err := identity.ParsePublicPEM(id.Pubkey); err != nil {
				perr = protocol.Errorf(protocol.CodeInvalidMsg, protocol.TextInvalidPubkey)
			}
		}
	}
	if perr != nil {
		s.metrics.frameIn("invalid", len(data))
		c.log().Debug("invalid frame", "err", perr.Message)
		c.sendError(perr)
		return
	}
	s.metrics.frameIn(m.Type(), len(data))
	if perr := s.dispatch(c, m, data, now); perr != nil {
		c.sendError(perr)
	}
}

// dispatch routes a valid message to its handler and returns the error the
// agent should see, if any.
func (s *Server) dispatch(c *conn, m protocol.Message, raw []byte, now time.Time) *protocol.Error {
	switch m := m.(type) {
	// T0: any socket.
	case *protocol.Ping:
		c.sendFrame(&protocol.Pong{Type: protocol.TypePong, TS: nowMS()})
		return nil
	case *protocol.ListChannels:
		return s.handleListChannels(c)
	case *protocol.Identify:
		return s.handleIdentify(c, m)
	case *protocol.VerifyIdentity:
		return s.handleVerifyIdentity(c, m)
	case *protocol.CaptchaResponse:
		return s.handleCaptchaResponse(c)
	case *protocol.AdminApprove, *protocol.AdminRevoke, *protocol.AdminList,
		*protocol.AdminKick, *protocol.AdminBan, *protocol.AdminUnban,
		*protocol.AdminMotd, *protocol.AdminVerify:
		return s.handleAdmin(c, m)
	case *protocol.Typing, *protocol.RespondingTo:
		// Silently dropped from unidentified sockets (§2).
		a := s.agentOf(c)
		if a == nil {
			return nil
		}
		if t, ok := m.(*protocol.Typing); ok {
			s.handleTyping(c, a, t)
			return nil
		}
		s.handleRespondingTo(c, a, m.(*protocol.RespondingTo))
		return nil
	case *protocol.Invite:
		// The private-channel switch is checked before identity (§8.4).
		if !s.cfg.PrivateChannels {
			return protocol.Errorf(protocol.CodeInvalidMsg, "Private channels are disabled on this server")
		}
	}

	a := s.agentOf(c)
	if a == nil {
		return errAuthRequired
	}
	switch m := m.(type) {
	case *protocol.Join:
		return s.handleJoin(c, a, m.Channel)
	case *protocol.Leave:
		s.handleLeave(c, a, m.Channel)
		return nil
	case *protocol.ListAgents:
		return s.handleListAgents(c, m.Channel)
	case *protocol.CreateChannel:
		return s.handleCreateChannel(c, a, m)
	case *protocol.Invite:
		return s.handleInvite(c, a, m)
	case *protocol.Msg:
		return s.handleMsg(c, a, m, now)
	case *protocol.FileChunk:
		return s.handleFileChunk(c, a, m, now)
	case *protocol.SetPresence:
		s.handleSetPresence(c, a, m)
		return nil
	case *protocol.SetNick:
		return s.handleSetNick(c, a, m, now)
	case *protocol.VerifyRequest:
		return s.handleVerifyRequest(c, a, m)
	case *protocol.VerifyResponse:
		if a.pubkey == "" {
			return errSigRequired
		}
		return s.handleVerifyResponse(c, a, m)
	case *protocol.SearchSkills:
		return s.market.Handle(s.ctx, s.callerOf(a), m, s.courierFor(c, a, nil))
	}
	// Everything left is a signed marketplace or agentcourt operation (T2).
	if a.pubkey == "" {
		return errSigRequired
	}
	return s.market.Handle(s.ctx, s.callerOf(a), m, s.courierFor(c, a, raw))
}

func (s *Server) handleCaptchaResponse(c *conn) *protocol.Error {
	if s.agentOf(c) != nil {
		return protocol.Errorf(protocol.CodeInvalidMsg, "Already identified")
	}
	// The captcha gate is off on this node, so no captcha is ever pending.
	return protocol.Errorf(protocol.CodeCaptchaExpired, "Captcha not found or expired")
}

// callerOf snapshots a's mutable fields (name, verified) under the lock.
func (s *Server) callerOf(a *agent) Caller {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return a.caller()
}
