package client

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// VerifyPeer asks the node to have agent target ("@id") prove its key by
// signing a fresh nonce (§15) and returns the target's public key PEM once
// the node reports VERIFY_SUCCESS. The key is also checked to hash to the
// target's ID. VERIFY_FAILED is an error wrapping ErrVerifyFailed. The call
// waits at least VerifyTimeout (the node's own 30 s plus margin), or longer
// if CallTimeout is longer, within ctx.
func (c *Client) VerifyPeer(ctx context.Context, target string) (string, error) {
	target = atTarget(target)
	ctx, cancel := context.WithTimeout(ctx, max(c.opts.CallTimeout, VerifyTimeout))
	defer cancel()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s, err := c.waitSession(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", target, err)
	}
	// The result is matched by target until the acknowledgement names the
	// request, then by request ID; the watcher is in place before the
	// request so that no result can slip past it.
	var reqID atomic.Pointer[string]
	w := s.watch(func(f *frame) bool {
		if (f.hdr.Type != protocol.TypeVerifySuccess && f.hdr.Type != protocol.TypeVerifyFailed) || f.hdr.Verified != nil {
			return false // not a requester's result
		}
		if id := reqID.Load(); id != nil {
			return f.hdr.RequestID == *id
		}
		return f.hdr.Agent == target || f.hdr.Target == target
	})
	defer s.unwatch(w)
	frames, err := c.do(ctx, s, &verifyRequestMsg{Type: protocol.TypeVerifyRequest, Target: target, Nonce: identity.NewNonce()},
		reply{take: func(f *frame) bool {
			return f.hdr.Type == protocol.TypeVerifyRequest && f.hdr.Target == target && f.hdr.Status == "pending"
		}})
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", target, err)
	}
	id := frames[0].hdr.RequestID
	reqID.Store(&id)
	var f *frame
	select {
	case got, ok := <-w.ch:
		if !ok {
			endErr, _ := s.result()
			return "", fmt.Errorf("verify %s: %w", target, endErr)
		}
		f = got
	case <-ctx.Done():
		return "", fmt.Errorf("verify %s: %w", target, ctx.Err())
	}
	res, err := decodeAs[protocol.VerifyResult](f)
	if err != nil {
		return "", fmt.Errorf("verify %s: decode result: %w", target, err)
	}
	if res.Type == protocol.TypeVerifyFailed {
		return "", fmt.Errorf("verify %s: %w: %s", target, ErrVerifyFailed, res.Reason)
	}
	if identity.AgentID(res.Pubkey) != target[1:] {
		return "", fmt.Errorf("verify %s: %w: the node reported a key of agent @%s", target, ErrVerifyFailed, identity.AgentID(res.Pubkey))
	}
	return res.Pubkey, nil
}

// answerVerify answers a VERIFY_REQUEST addressed to this agent on session
// s by signing its nonce. It runs on a helper goroutine.
func (c *Client) answerVerify(s *session, requestID, nonce string) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.CallTimeout)
	defer cancel()
	_, err := c.do(ctx, s, &verifyResponseMsg{Type: protocol.TypeVerifyResponse, RequestID: requestID,
		Nonce: nonce, Sig: identity.Sign(c.priv, nonce)}, reply{take: func(f *frame) bool {
		return (f.hdr.Type == protocol.TypeVerifySuccess || f.hdr.Type == protocol.TypeVerifyFailed) &&
			f.hdr.RequestID == requestID && f.hdr.Verified != nil
	}})
	if err != nil {
		c.log.Warn("answering a verification request failed", "request", requestID, "err", err)
		return
	}
	c.log.Debug("answered a verification request", "request", requestID)
}
