package node

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// Callback markers (§9.4): "@@cb:<N>s@@payload" or "@@cb:<N>s#chan@@payload"
// ask the node to send the payload back to the author after N seconds.
const (
	cbMarker     = "@@cb:"
	cbMaxDelay   = time.Hour
	cbMaxPayload = 500
	cbMaxPending = 50
)

// cbHeader matches a marker's header at the start of the text.
var cbHeader = regexp.MustCompile(`^@@cb:(\d+(?:\.\d+)?)s(?:#([a-zA-Z0-9_-]+))?@@`)

// callback is a pending timer of one agent.
type callback struct {
	id      string
	at      time.Time
	channel string // "#chan", or "" for the author itself
	payload string
}

// extractCallbacks strips every callback marker from content. A payload
// runs to the next "@@cb:" (a marker or not) or the end and is trimmed; the
// text around the markers is trimmed too. Go's regexp has no lookahead, so
// the markers are found by scanning.
func extractCallbacks(content string, now time.Time) (string, []callback) {
	if !strings.Contains(content, cbMarker) {
		return content, nil
	}
	var kept strings.Builder
	var cbs []callback
	rest := content
	for {
		i := strings.Index(rest, cbMarker)
		if i < 0 {
			kept.WriteString(rest)
			break
		}
		kept.WriteString(rest[:i])
		m := cbHeader.FindStringSubmatch(rest[i:])
		if m == nil {
			kept.WriteString(cbMarker)
			rest = rest[i+len(cbMarker):]
			continue
		}
		body := rest[i+len(m[0]):]
		end := strings.Index(body, cbMarker)
		if end < 0 {
			end = len(body)
		}
		payload := strings.TrimSpace(body[:end])
		rest = body[end:]
		secs, _ := strconv.ParseFloat(m[1], 64)
		delay := min(time.Duration(secs*float64(time.Second)), cbMaxDelay)
		if protocol.UTF16Len(payload) > cbMaxPayload {
			continue // the marker goes, the callback is skipped
		}
		cb := callback{id: newCallbackID(now), at: now.Add(delay), payload: payload}
		if m[2] != "" {
			cb.channel = "#" + m[2]
		}
		cbs = append(cbs, cb)
	}
	return strings.TrimSpace(kept.String()), cbs
}

func newCallbackID(now time.Time) string {
	id := newMsgID(now.UnixMilli()) // "<ms>-<6 base36>"
	return "cb_" + strings.Replace(id, "-", "_", 1)
}

// addCallbacks queues an agent's callbacks, up to cbMaxPending; the rest
// are dropped, as the original does. Caller holds s.mu.
func (a *agent) addCallbacks(cbs []callback) {
	for _, cb := range cbs {
		if len(a.callbacks) >= cbMaxPending {
			return
		}
		a.callbacks = append(a.callbacks, cb)
	}
}

// fireCallbacks sends due callbacks to their authors: to the author only,
// and for a channel callback only while the author is still a member.
func (s *Server) fireCallbacks(now time.Time) {
	type due struct {
		c  *conn
		cb callback
	}
	var fire []due
	s.mu.Lock()
	for _, c := range s.agents {
		a := c.agent
		if len(a.callbacks) == 0 {
			continue
		}
		kept := a.callbacks[:0]
		for _, cb := range a.callbacks {
			if now.Before(cb.at) {
				kept = append(kept, cb)
				continue
			}
			if cb.channel != "" && !a.inChannel(cb.channel) {
				continue
			}
			fire = append(fire, due{c, cb})
		}
		a.callbacks = kept
	}
	s.mu.Unlock()
	for _, f := range fire {
		to := f.cb.channel
		if to == "" {
			to = "@" + f.c.agent.id
		}
		f.c.sendFrame(&protocol.MsgFrame{Type: protocol.TypeMsg, TS: now.UnixMilli(), From: "@server", FromName: "server",
			To: to, Content: "@@cb-fire@@" + f.cb.payload, CbID: f.cb.id, CbOrigin: "@" + f.c.agent.id})
	}
}

// inChannel reports membership by name. Caller holds s.mu.
func (a *agent) inChannel(name string) bool {
	for ch := range a.channels {
		if ch.name == name {
			return true
		}
	}
	return false
}
