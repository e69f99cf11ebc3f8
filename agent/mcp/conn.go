package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/transfer"
	"github.com/agentchat/mesh/protocol"
)

// conn is the agent connection agentchat_connect made: the client, the
// options to dial it again, the goroutine that moves its events into the
// inbox, and the file transfer receiver fed from the same events. The
// inbox outlives redials of the same connection; a new agentchat_connect
// starts a fresh one.
type conn struct {
	cl    *client.Client
	opts  client.Options // as dialed; a redial re-joins cl.Channels()
	info  connectInfo
	inbox *inbox
	done  chan struct{} // closed when pump ends, after cl's Events closes

	// files keeps the file transfers offered to the agent (§21). It reads
	// its own copy of the events, which pump forwards to filesEvents and
	// closes when the client's events end; filesDone is closed when its
	// Run has returned.
	files       *transfer.Receiver
	filesEvents chan client.Event
	filesDone   chan struct{}
}

// connectInfo is what agentchat_connect reports about a connection.
type connectInfo struct {
	server       string
	persistent   bool
	identityPath string
}

// dial connects with opts and starts the pump into in.
func (s *Server) dial(ctx context.Context, opts client.Options, info connectInfo, in *inbox) (*conn, error) {
	cl, err := client.Dial(ctx, opts)
	if err != nil {
		return nil, err
	}
	c := &conn{cl: cl, opts: opts, info: info, inbox: in, done: make(chan struct{}),
		filesEvents: make(chan client.Event, filesBuffer), filesDone: make(chan struct{})}
	c.files = transfer.NewReceiver(cl, transfer.ReceiverConfig{Events: c.filesEvents, Logger: s.cfg.Logger})
	go func() {
		defer close(c.filesDone)
		c.files.Run(context.Background()) // ends when pump closes filesEvents
	}()
	go c.pump(s)
	return c, nil
}

// filesBuffer is the capacity of the file receiver's event channel; the
// pump waits for room, so a burst of chunks is never dropped.
const filesBuffer = 256

// close closes the client and waits for the pump and the file receiver.
func (c *conn) close() {
	_ = c.cl.Close()
	<-c.done
	<-c.filesDone
}

// self is what the listen filter takes for the agent: its "@id" and its
// "@name" (the node also routes a DM by exact name).
func (c *conn) self() []string {
	return []string{c.cl.AgentID(), "@" + c.cl.Name()}
}

// pump moves the client's events into the inbox until the client stops.
// It is owned by c: close waits for it.
func (c *conn) pump(s *Server) {
	defer close(c.done)
	defer close(c.filesEvents)
	for ev := range c.cl.Events() {
		select {
		case c.filesEvents <- ev:
		case <-c.filesDone: // the receiver stopped early; chat goes on
		}
		switch e := ev.(type) {
		case *protocol.MsgFrame:
			c.inbox.add(msgOf(e))
		case *client.Disconnected:
			s.log.Warn("disconnected from node", "err", e.Err, "reconnecting", e.Reconnecting)
		case *client.Reconnected:
			s.log.Info("reconnected to node", "agent", e.Welcome.AgentID, "channels", e.Channels)
		default:
			if m, ok := marketMsg(ev, c.cl.AgentID()); ok {
				c.inbox.add(m)
			}
		}
	}
}

// ensure returns the live connection. When the client has stopped for
// good (it gave up reconnecting, or the node refused it), it dials again
// with the saved options first, as the original's tools do, unless another
// connection with the same identity displaced it or the node removed it.
func (s *Server) ensure(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return nil, ErrNotConnected
	}
	select {
	case <-c.cl.Done():
	default:
		return c, nil
	}
	cause := c.cl.Err()
	if errors.Is(cause, client.ErrDisplaced) || errors.Is(cause, client.ErrRemoved) {
		return nil, fmt.Errorf("connection ended (%v); call agentchat_connect to connect again", cause)
	}
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	s.mu.Lock()
	cur, closed := s.conn, s.closed
	s.mu.Unlock()
	if closed || cur == nil {
		return nil, ErrNotConnected
	}
	if cur != c {
		return cur, nil // another call redialed meanwhile
	}
	opts := c.opts
	opts.Channels = c.cl.Channels()
	c.close()
	s.log.Info("redialing", "node", c.info.server, "after", cause)
	nc, err := s.dial(ctx, opts, c.info, c.inbox)
	if err != nil {
		return nil, fmt.Errorf("reconnect to %s: %w", c.info.server, err)
	}
	s.mu.Lock()
	s.conn = nc
	s.mu.Unlock()
	return nc, nil
}

// join joins a channel on c and buffers the messages the node replays.
func (c *conn) join(ctx context.Context, channel string) error {
	res, err := c.cl.Join(ctx, channel)
	if err != nil {
		return err
	}
	for _, m := range res.Replay {
		c.inbox.add(msgOf(m))
	}
	return nil
}

// joined reports whether the client has joined channel.
func (c *conn) joined(channel string) bool { return slices.Contains(c.cl.Channels(), channel) }

func msgOf(f *protocol.MsgFrame) Message {
	return Message{From: f.From, FromName: f.FromName, To: f.To, Content: f.Content, TS: f.TS, MsgID: f.MsgID, Replay: f.Replay}
}

// marketMsg turns a proposal frame from a counterparty into an inbox entry
// addressed to the agent, so agentchat_listen reports incoming proposals
// and their outcomes (the original's listen reported chat only, which left
// agentchat_accept without a way to learn proposal IDs).
func marketMsg(ev client.Event, self string) (Message, bool) {
	var (
		typ, id, from, to, summary string
		ts                         int64
	)
	switch f := ev.(type) {
	case *protocol.ProposalFrame:
		if f.From == self {
			return Message{}, false // a late echo of the agent's own proposal
		}
		typ, id, from, to, ts = f.Type, f.ID, f.From, f.To, f.TS
		summary = fmt.Sprintf("proposal %s from %s: %s", f.ID, f.From, f.Task)
		if f.Amount != nil {
			summary += fmt.Sprintf(" (amount %v", *f.Amount)
			if f.Currency != nil {
				summary += " " + *f.Currency
			}
			summary += ")"
		}
	case *protocol.AcceptFrame:
		typ, id, from, to, ts = f.Type, f.ProposalID, f.From, f.To, f.TS
		summary = "proposal " + f.ProposalID + " accepted"
	case *protocol.RejectFrame:
		typ, id, from, to, ts = f.Type, f.ProposalID, f.From, f.To, f.TS
		summary = "proposal " + f.ProposalID + " rejected"
		if f.Reason != nil && *f.Reason != "" {
			summary += ": " + *f.Reason
		}
	case *protocol.CompleteFrame:
		typ, id, from, to, ts = f.Type, f.ProposalID, f.From, f.To, f.TS
		summary = "proposal " + f.ProposalID + " completed by " + f.CompletedBy
	case *protocol.DisputeFrame:
		typ, id, from, to, ts = f.Type, f.ProposalID, f.From, f.To, f.TS
		summary = "proposal " + f.ProposalID + " disputed by " + f.DisputedBy + ": " + f.Reason
	default:
		return Message{}, false
	}
	frame, err := json.Marshal(ev)
	if err != nil {
		return Message{}, false
	}
	// The counterparty is whichever side is not the agent.
	other := from
	if other == self || other == "" {
		other = to
	}
	if !strings.HasPrefix(other, "@") && other != "" {
		other = "@" + other
	}
	return Message{From: other, To: self, Content: summary, TS: ts, Type: typ, ProposalID: id, Frame: frame}, true
}
