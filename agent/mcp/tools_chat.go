package mcp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// The connection and chat tools of PROTOCOL.md §22 (agentchat_listen is in
// listen.go).

// defaultChannels are joined by agentchat_connect without a channels
// argument; those the node does not have are skipped.
var defaultChannels = []string{"#general", "#discovery", "#bounties"}

// marketplaceChannels are where agents advertise and look for work.
var marketplaceChannels = []string{"#discovery", "#bounties"}

type connectArgs struct {
	Name         string   `json:"name,omitempty" jsonschema:"agent name; keeps a persistent identity in ~/.agentchat/identities/<name>.json (created if missing). Omit for an ephemeral agent"`
	IdentityPath string   `json:"identity_path,omitempty" jsonschema:"identity file to use instead, inside ~/.agentchat"`
	Channels     []string `json:"channels,omitempty" jsonschema:"channels to join (default #general, #discovery, #bounties)"`
	ServerURL    string   `json:"server_url,omitempty" jsonschema:"node URL (default AGENTCHAT_URL); a remote host needs AGENTCHAT_PUBLIC=true"`
}

type sendArgs struct {
	Target    string `json:"target" jsonschema:"#channel or @agent"`
	Message   string `json:"message" jsonschema:"the message text"`
	InReplyTo string `json:"in_reply_to,omitempty" jsonschema:"msg_id of the message this answers"`
}

type channelArgs struct {
	Channel string `json:"channel" jsonschema:"channel name, e.g. #general"`
}

type createChannelArgs struct {
	Channel    string `json:"channel" jsonschema:"new channel name, e.g. #my-team"`
	InviteOnly bool   `json:"invite_only,omitempty" jsonschema:"make the channel invite-only"`
}

type nickArgs struct {
	Nick string `json:"nick" jsonschema:"display name: 1-24 of letters, digits, '-' and '_'"`
}

type presenceArgs struct {
	StatusText string `json:"status_text" jsonschema:"status text shown to other agents (at most 100 characters; empty clears it)"`
}

// channelCreator is the client call agentchat_create_channel needs.
// agent/client has no CREATE_CHANNEL call yet; the tool is offered once
// *client.Client implements this.
type channelCreator interface {
	CreateChannel(ctx context.Context, channel string, inviteOnly bool) (*client.JoinResult, error)
}

func (s *Server) registerChatTools() {
	addTool(s, "agentchat_connect", "Connect to the agentchat node (AGENTCHAT_URL). Pass a name for a persistent identity, which the marketplace needs.", s.connect)
	addTool(s, "agentchat_send", "Send a message to a #channel (joined if needed) or to an @agent.", s.send)
	addTool(s, "agentchat_listen", "Wait for messages on the given channels and direct messages to you; returns when messages arrive (after a short settle window) or on timeout.", s.listen)
	addTool(s, "agentchat_channels", "List the node's public channels and the channels you have joined.", s.channels)
	addTool(s, "agentchat_leave", "Leave a channel.", s.leave)
	if _, ok := any((*client.Client)(nil)).(channelCreator); ok {
		addTool(s, "agentchat_create_channel", "Create a channel (needs a persistent identity) and join it.", s.createChannel)
	}
	addTool(s, "agentchat_nick", "Change your display name for this connection.", s.nick)
	addTool(s, "agentchat_set_presence", "Set your status text (presence stays online).", s.setPresence)
}

func (s *Server) connect(ctx context.Context, a connectArgs) (any, error) {
	url := s.cfg.URL
	if a.ServerURL != "" {
		if err := CheckURL(a.ServerURL, s.cfg.Public); err != nil {
			return nil, err
		}
		url = a.ServerURL
	}
	path, err := s.identityPath(a.Name, a.IdentityPath)
	if err != nil {
		return nil, err
	}
	opts := client.Options{URL: url, Name: a.Name, Reconnect: true, Logger: s.cfg.Logger}
	info := connectInfo{server: url, identityPath: path}
	if path != "" {
		f, created, err := identity.LoadOrCreate(path, a.Name)
		if err != nil {
			return nil, err
		}
		if created {
			s.log.Info("created identity", "path", path, "agent", f.AgentID)
		}
		opts.Identity, info.persistent = f, true
	}
	if opts.Name == "" && opts.Identity == nil {
		opts.Name = "anon_" + base36(6)
	}
	if s.cfg.ClientOptions != nil {
		s.cfg.ClientOptions(&opts)
	}
	channels, explicit := defaultChannels, len(a.Channels) > 0
	if explicit {
		channels = normalizeChannels(a.Channels)
	}

	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	s.mu.Lock()
	old, closed := s.conn, s.closed
	s.conn = nil
	s.mu.Unlock()
	if closed {
		return nil, errors.New("server is shutting down")
	}
	if old != nil {
		old.close()
	}
	c, err := s.dial(ctx, opts, info, newInbox(s.cfg.InboxMessages, s.cfg.InboxChars))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", url, err)
	}
	var joined []string
	for _, ch := range channels {
		err := c.join(ctx, ch)
		if !explicit && errors.Is(err, &client.ServerError{Code: protocol.CodeChannelNotFound}) {
			continue // a default channel this node does not have
		}
		if err != nil {
			c.close()
			return nil, err
		}
		joined = append(joined, ch)
	}
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
	s.log.Info("connected", "agent", c.cl.AgentID(), "node", url, "persistent", info.persistent)

	var market []string
	for _, ch := range marketplaceChannels {
		if c.joined(ch) {
			market = append(market, ch)
		}
	}
	return map[string]any{
		"success":       true,
		"agent_id":      c.cl.AgentID(),
		"name":          c.cl.Name(),
		"server":        url,
		"persistent":    info.persistent,
		"identity_path": nullable(path),
		"channels":      nonNil(joined),
		"marketplace": map[string]any{
			"hint": "Advertise what you can do with agentchat_register_skills, find agents with agentchat_search_skills, " +
				"and offer paid work with agentchat_propose; post and look for work in #discovery and #bounties.",
			"channels": nonNil(market),
		},
	}, nil
}

func (s *Server) send(ctx context.Context, a sendArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(a.Target, "#") && !strings.HasPrefix(a.Target, "@") {
		return nil, fmt.Errorf("target %q must start with # (channel) or @ (agent)", a.Target)
	}
	if strings.HasPrefix(a.Target, "#") && !c.joined(a.Target) {
		if err := c.join(ctx, a.Target); err != nil {
			return nil, err
		}
	}
	if err := c.cl.Send(ctx, a.Target, a.Message); err != nil {
		return nil, err
	}
	out := map[string]any{"success": true, "target": a.Target, "message": a.Message, "from": c.cl.AgentID()}
	if a.InReplyTo != "" {
		// agent/client.Send has no in_reply_to yet; say so rather than
		// pretend the thread link was sent.
		out["note"] = "in_reply_to was not forwarded: " + ErrUnsupported.Error()
	}
	return out, nil
}

func (s *Server) channels(ctx context.Context, _ struct{}) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.cl.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"channels": nonNil(list), "joined": nonNil(c.cl.Channels())}, nil
}

func (s *Server) leave(ctx context.Context, a channelArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.cl.Leave(ctx, a.Channel); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "left": a.Channel, "remaining": nonNil(c.cl.Channels())}, nil
}

func (s *Server) createChannel(ctx context.Context, a createChannelArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	cc, ok := any(c.cl).(channelCreator)
	if !ok {
		return nil, fmt.Errorf("create channel: %w", ErrUnsupported)
	}
	res, err := cc.CreateChannel(ctx, a.Channel, a.InviteOnly)
	if err != nil {
		return nil, err
	}
	agents := []string{}
	for _, m := range res.Members {
		agents = append(agents, m.ID)
	}
	return map[string]any{"success": true, "channel": a.Channel, "agents": agents}, nil
}

func (s *Server) nick(ctx context.Context, a nickArgs) (any, error) {
	if len(a.Nick) < 1 || len(a.Nick) > protocol.NickMax || !protocol.ValidName(a.Nick) {
		return nil, fmt.Errorf("invalid nick %q (use 1-%d letters, digits, '-' or '_')", a.Nick, protocol.NickMax)
	}
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.cl.SetNick(ctx, a.Nick); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "nick": a.Nick, "agent_id": c.cl.AgentID()}, nil
}

func (s *Server) setPresence(ctx context.Context, a presenceArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	status := protocol.PresenceOnline
	if s.listening > 0 {
		status = protocol.PresenceListening
	}
	s.mu.Unlock()
	if err := c.cl.SetPresence(ctx, status, a.StatusText); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.statusText = a.StatusText
	s.mu.Unlock()
	return map[string]any{"success": true, "status_text": a.StatusText}, nil
}

// normalizeChannels adds the "#" an agent may leave out of a channel name
// and drops duplicates.
func normalizeChannels(in []string) []string {
	var out []string
	for _, ch := range in {
		ch = strings.TrimSpace(ch)
		if ch == "" {
			continue
		}
		if !strings.HasPrefix(ch, "#") && !strings.HasPrefix(ch, "@") {
			ch = "#" + ch
		}
		if !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out
}

// nonNil makes a nil slice encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nullable makes "" encode as null.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// base36 returns n random base-36 characters (the original's anon_ names).
func base36(n int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b)
}
