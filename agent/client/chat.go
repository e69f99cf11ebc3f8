package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// JoinResult is the node's answer to a JOIN (§8.2).
type JoinResult struct {
	Channel string
	// Members lists the channel's members, the joiner included.
	Members []protocol.Member
	// Replay holds the channel's buffered messages, oldest first, each with
	// Replay set; RawReplay holds the same frames' exact bytes.
	Replay    []*protocol.MsgFrame
	RawReplay []json.RawMessage
}

// Join joins a channel and returns its members and replayed messages. The
// channel is re-joined after a reconnect.
func (c *Client) Join(ctx context.Context, channel string) (*JoinResult, error) {
	res, err := c.join(ctx, nil, channel, false)
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", channel, err)
	}
	c.remember(channel)
	return res, nil
}

// join sends JOIN on s (nil: the live session). With emitReplay the
// replayed messages become events instead of being collected, for the joins
// nobody called: Options.Channels and re-joins. ctx is bounded by
// CallTimeout.
func (c *Client) join(ctx context.Context, s *session, channel string, emitReplay bool) (*JoinResult, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	frames, err := c.do(ctx, s, &channelMsg{Type: protocol.TypeJoin, Channel: channel}, reply{fenced: true,
		take: func(f *frame) bool {
			switch f.hdr.Type {
			case protocol.TypeJoined:
				return f.hdr.Channel == channel
			case protocol.TypeMsg:
				return !emitReplay && f.hdr.Replay && f.hdr.To == channel
			}
			return false
		}})
	if err != nil {
		return nil, err
	}
	jf, err := firstOf(frames, protocol.TypeJoined)
	if err != nil {
		return nil, err
	}
	res := &JoinResult{Channel: channel}
	var joined struct {
		Agents json.RawMessage `json:"agents"`
	}
	if err := json.Unmarshal(jf.data, &joined); err != nil {
		return nil, fmt.Errorf("decode JOINED: %w", err)
	}
	res.Members = decodeMembers(joined.Agents)
	for _, f := range frames {
		if f.hdr.Type != protocol.TypeMsg {
			continue
		}
		m, err := decodeAs[protocol.MsgFrame](f)
		if err != nil {
			return nil, fmt.Errorf("decode replayed MSG: %w", err)
		}
		res.Replay = append(res.Replay, m)
		res.RawReplay = append(res.RawReplay, json.RawMessage(f.data))
	}
	return res, nil
}

// decodeMembers reads JOINED.agents, a list of member objects after JOIN or
// of "@id" strings after CREATE_CHANNEL (§6).
func decodeMembers(raw json.RawMessage) []protocol.Member {
	var members []protocol.Member
	if json.Unmarshal(raw, &members) == nil {
		return members
	}
	members = nil // a failed decode may leave partial entries
	var ids []string
	if json.Unmarshal(raw, &ids) == nil {
		for _, id := range ids {
			members = append(members, protocol.Member{ID: id})
		}
	}
	return members
}

// Leave leaves a channel; it is no longer re-joined after a reconnect.
func (c *Client) Leave(ctx context.Context, channel string) error {
	_, err := c.call(ctx, &channelMsg{Type: protocol.TypeLeave, Channel: channel}, reply{fenced: true,
		take: func(f *frame) bool { return f.hdr.Type == protocol.TypeLeft && f.hdr.Channel == channel }})
	if err != nil {
		return fmt.Errorf("leave %s: %w", channel, err)
	}
	c.forget(channel)
	return nil
}

// Send sends a chat message to "#channel" or "@agent" and returns once the
// node has accepted it. With an identity, the message is signed as
// PROTOCOL.md §7.1 says (MSG row): sig over MsgSigningString(to, content,
// ts), with that ts sent in the same frame, which the node relays as sig_ts.
// A channel message is not echoed to its sender; a direct message's echo is
// the reply and not an event.
func (c *Client) Send(ctx context.Context, to, content string) error {
	m := &chatMsg{Type: protocol.TypeMsg, To: to, Content: content}
	if c.priv != nil {
		m.TS = time.Now().UnixMilli()
		m.Sig = identity.Sign(c.priv, protocol.MsgSigningString(to, content, float64(m.TS)))
	}
	r := reply{fenced: true}
	if strings.HasPrefix(to, "@") {
		self := c.AgentID()
		taken := false
		r.take = func(f *frame) bool {
			if taken || f.hdr.Type != protocol.TypeMsg || f.hdr.From != self || f.hdr.Replay || !strings.HasPrefix(f.hdr.To, "@") {
				return false
			}
			taken = true // the first: a message to oneself also arrives as itself
			return true
		}
	}
	if _, err := c.call(ctx, m, r); err != nil {
		return fmt.Errorf("send to %s: %w", to, err)
	}
	return nil
}

// SendFileChunk sends one FILE_CHUNK to an agent (§21); the node relays it
// to the target only.
func (c *Client) SendFileChunk(ctx context.Context, to, content string) error {
	if _, err := c.call(ctx, &fileChunkMsg{Type: protocol.TypeFileChunk, To: to, Content: content}, reply{fenced: true}); err != nil {
		return fmt.Errorf("file chunk to %s: %w", to, err)
	}
	return nil
}

// ListChannels lists the node's public channels (§8.5).
func (c *Client) ListChannels(ctx context.Context) ([]protocol.ChannelInfo, error) {
	frames, err := c.call(ctx, &typeMsg{Type: protocol.TypeListChannels},
		reply{take: func(f *frame) bool { return f.hdr.Type == protocol.TypeChannels }})
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	ch, err := decodeAs[protocol.Channels](frames[0])
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return ch.List, nil
}

// ListAgents lists the members of a channel (§8.5).
func (c *Client) ListAgents(ctx context.Context, channel string) ([]protocol.AgentInfo, error) {
	frames, err := c.call(ctx, &channelMsg{Type: protocol.TypeListAgents, Channel: channel},
		reply{take: func(f *frame) bool { return f.hdr.Type == protocol.TypeAgents && f.hdr.Channel == channel }})
	if err != nil {
		return nil, fmt.Errorf("list agents of %s: %w", channel, err)
	}
	a, err := decodeAs[protocol.Agents](frames[0])
	if err != nil {
		return nil, fmt.Errorf("list agents of %s: %w", channel, err)
	}
	return a.List, nil
}

// SetPresence sets the agent's presence (online, away, busy, offline,
// listening) and status text ("" clears it). Agents sharing a channel get
// PRESENCE_CHANGED (§10.1).
func (c *Client) SetPresence(ctx context.Context, status, statusText string) error {
	if _, err := c.call(ctx, &presenceMsg{Type: protocol.TypeSetPresence, Status: status, StatusText: statusText},
		reply{fenced: true}); err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	return nil
}

// SetNick changes the agent's display name for this connection (§10.2).
// The NICK_CHANGED frames the node sends back arrive as events.
func (c *Client) SetNick(ctx context.Context, nick string) error {
	if _, err := c.call(ctx, &nickMsg{Type: protocol.TypeSetNick, Nick: nick}, reply{fenced: true}); err != nil {
		return fmt.Errorf("set nick: %w", err)
	}
	return nil
}

// Ping sends PING and returns the time until PONG.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if _, err := c.call(ctx, &typeMsg{Type: protocol.TypePing},
		reply{take: func(f *frame) bool { return f.hdr.Type == protocol.TypePong }}); err != nil {
		return 0, fmt.Errorf("ping: %w", err)
	}
	return time.Since(start), nil
}

type createMsg struct {
	Type       string `json:"type"`
	Channel    string `json:"channel"`
	InviteOnly bool   `json:"invite_only,omitempty"`
}

// CreateChannel creates a channel (a verified identity is required) and
// joins it; with inviteOnly only invited agents may join. The channel is
// re-joined after a reconnect.
func (c *Client) CreateChannel(ctx context.Context, channel string, inviteOnly bool) (*JoinResult, error) {
	frames, err := c.call(ctx, &createMsg{Type: protocol.TypeCreateChannel, Channel: channel, InviteOnly: inviteOnly},
		reply{fenced: true, take: func(f *frame) bool {
			return f.hdr.Type == protocol.TypeJoined && f.hdr.Channel == channel
		}})
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", channel, err)
	}
	jf, err := firstOf(frames, protocol.TypeJoined)
	if err != nil {
		return nil, err
	}
	var joined struct {
		Agents json.RawMessage `json:"agents"`
	}
	if err := json.Unmarshal(jf.data, &joined); err != nil {
		return nil, fmt.Errorf("decode JOINED: %w", err)
	}
	c.remember(channel)
	return &JoinResult{Channel: channel, Members: decodeMembers(joined.Agents)}, nil
}
