package node

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus series (docs/operating.md lists them).
// Counters are updated on the data path, so each is resolved once per frame
// type and cached; gauges are read from the server's state at scrape time.
type metrics struct {
	framesIn, bytesIn   *prometheus.CounterVec // by type; "invalid" for frames that did not decode
	framesOut, bytesOut *prometheus.CounterVec // by type, counted when queued to an agent
	drops               *prometheus.CounterVec // by reason: closed, slow_consumer
	closes              *prometheus.CounterVec // close frames the node started, by code
	rateLimited         *prometheus.CounterVec // by phase: pre_auth (closed 1008), post_auth (RATE_LIMITED)
	writeSeconds        *prometheus.HistogramVec

	// in and out cache the counters of each frame type: copy-on-write
	// maps, since the fan-out reads one for every frame and the set of
	// types settles at once (a lookup by a []byte key allocates nothing).
	// At most maxTypes types per direction are kept: frames relayed from
	// other nodes carry types we do not control, and every further type
	// counts as "other".
	in, out typeTable
}

type typeCounters struct{ frames, bytes prometheus.Counter }

// typeTable is one direction's counters by type.
type typeTable struct {
	frames, bytes *prometheus.CounterVec
	types         atomic.Pointer[map[string]typeCounters]
	mu            sync.Mutex // serialises additions
}

// maxTypes bounds the distinct type labels per direction.
const maxTypes = 96

func newMetrics() *metrics {
	m := &metrics{
		framesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentchat_frames_in_total", Help: "Websocket frames received from agents, by type (invalid: did not decode).",
		}, []string{"type"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentchat_frame_bytes_in_total", Help: "Bytes of websocket frames received from agents, by type.",
		}, []string{"type"}),
		framesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentchat_frames_out_total", Help: "Frames queued to agents (deliveries), by type.",
		}, []string{"type"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentchat_frame_bytes_out_total", Help: "Bytes of frames queued to agents, by type.",
		}, []string{"type"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentchat_frames_dropped_total", Help: "Frames for an agent that were not queued: its connection was closing, or its queue was full (slow consumer).",
		}, []string{"reason"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentchat_closes_total", Help: "Websocket closes the node started, by close code (1013: slow consumer).",
		}, []string{"code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentchat_rate_limited_total", Help: "Frames refused by the rate limits: pre_auth closes with 1008, post_auth answers RATE_LIMITED.",
		}, []string{"phase"}),
		writeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentchat_write_seconds",
			Help:    "Time of one write of queued frames to an agent's socket: flush (the shared flusher's non-blocking write) or writer (a connection's own writer).",
			Buckets: []float64{.00001, .00005, .0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
		}, []string{"path"}),
	}
	m.in.frames, m.in.bytes = m.framesIn, m.bytesIn
	m.out.frames, m.out.bytes = m.framesOut, m.bytesOut
	return m
}

// register adds the node's series to reg, with gauges that read s.
func (m *metrics) register(reg prometheus.Registerer, s *Server) error {
	gauges := []prometheus.Collector{
		agentCollector{s},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentchat_agents_remote", Help: "Agents on other nodes this node knows of (the roster)."},
			func() float64 { return float64(s.remoteCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentchat_channels", Help: "Channels this node serves."},
			func() float64 { return float64(s.channelCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentchat_sockets", Help: "Open websocket connections, identified or not."},
			func() float64 { return float64(s.socketCount()) }),
	}
	for _, c := range append(gauges, m.framesIn, m.bytesIn, m.framesOut, m.bytesOut, m.drops, m.closes, m.rateLimited, m.writeSeconds) {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// The agent gauges are counted in one pass over the agents per scrape.
var (
	agentsConnectedDesc = prometheus.NewDesc("agentchat_agents_connected", "Identified agents connected to this node.", nil, nil)
	agentsParkedDesc    = prometheus.NewDesc("agentchat_agents_parked", "Identified agents whose idle socket is parked (no goroutine).", nil, nil)
	agentsVerifiedDesc  = prometheus.NewDesc("agentchat_agents_verified", "Connected agents that passed challenge-response.", nil, nil)
)

type agentCollector struct{ s *Server }

func (agentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- agentsConnectedDesc
	ch <- agentsParkedDesc
	ch <- agentsVerifiedDesc
}

func (a agentCollector) Collect(ch chan<- prometheus.Metric) {
	st := a.s.agentCounts()
	ch <- prometheus.MustNewConstMetric(agentsConnectedDesc, prometheus.GaugeValue, float64(st.connected))
	ch <- prometheus.MustNewConstMetric(agentsParkedDesc, prometheus.GaugeValue, float64(st.parked))
	ch <- prometheus.MustNewConstMetric(agentsVerifiedDesc, prometheus.GaugeValue, float64(st.verified))
}

// counted returns the counters of typ, adding them if there is room.
func (t *typeTable) counted(typ []byte) typeCounters {
	if p := t.types.Load(); p != nil {
		if tc, ok := (*p)[string(typ)]; ok {
			return tc
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := map[string]typeCounters{}
	if p := t.types.Load(); p != nil {
		old = *p
	}
	if tc, ok := old[string(typ)]; ok {
		return tc
	}
	key := string(typ)
	if len(old) >= maxTypes {
		if tc, ok := old["other"]; ok {
			return tc
		}
		key = "other"
	}
	tc := typeCounters{t.frames.WithLabelValues(key), t.bytes.WithLabelValues(key)}
	next := make(map[string]typeCounters, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = tc
	t.types.Store(&next)
	return tc
}

// The recording methods accept a nil *metrics (a Server built without New,
// as in benchmarks) and count nothing.

// frameIn counts one inbound frame of n bytes.
func (m *metrics) frameIn(typ string, n int) {
	if m == nil {
		return
	}
	tc := m.in.counted([]byte(typ)) // the conversion in an argument does not escape
	tc.frames.Inc()
	tc.bytes.Add(float64(n))
}

// frameOut counts one frame queued to an agent.
func (m *metrics) frameOut(b []byte) {
	if m == nil {
		return
	}
	tc := m.out.counted(frameType(b))
	tc.frames.Inc()
	tc.bytes.Add(float64(len(b)))
}

// observeWrite records one socket write that started at start.
func (m *metrics) observeWrite(path string, start time.Time) {
	if m == nil {
		return
	}
	m.writeSeconds.WithLabelValues(path).Observe(time.Since(start).Seconds())
}

// drop counts a frame not queued, for reason.
func (m *metrics) drop(reason string) {
	if m != nil {
		m.drops.WithLabelValues(reason).Inc()
	}
}

// closeStarted counts a close the node started with code.
func (m *metrics) closeStarted(code int) {
	if m != nil {
		m.closes.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

// limited counts a frame the rate limits refused in phase.
func (m *metrics) limited(phase string) {
	if m != nil {
		m.rateLimited.WithLabelValues(phase).Inc()
	}
}

var typePrefix = []byte(`{"type":"`)

var otherType = []byte("other")

// frameType reads the type of an encoded frame, which the encoder writes
// first; anything else is "other". Only A-Z and _ are taken, so a label
// never carries an agent's text. The result aliases b.
func frameType(b []byte) []byte {
	if !bytes.HasPrefix(b, typePrefix) {
		return otherType
	}
	rest := b[len(typePrefix):]
	for i := 0; i < len(rest) && i <= 32; i++ {
		switch c := rest[i]; {
		case c == '"':
			if i == 0 {
				return otherType
			}
			return rest[:i]
		case c == '_' || (c >= 'A' && c <= 'Z'):
		default:
			return otherType
		}
	}
	return otherType
}

// agentStats are the agent counts of /health and the gauges, counted in
// one pass.
type agentStats struct{ connected, withIdentity, parked, verified int }

func (s *Server) agentCounts() agentStats {
	var st agentStats
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.agents {
		st.connected++
		if c.agent.pubkey != "" {
			st.withIdentity++
		}
		if c.rstate.Load() == rsParked {
			st.parked++
		}
		if c.agent.verified {
			st.verified++
		}
	}
	return st
}

func (s *Server) remoteCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.remotes)
}

func (s *Server) channelCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.channels)
}

func (s *Server) socketCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.conns)
}
