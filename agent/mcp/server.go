package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Server is the agentchat MCP server: the tools of PROTOCOL.md §22 over at
// most one agent connection. Create it with New and serve it with Run.
type Server struct {
	cfg Config
	log *slog.Logger
	mcp *sdk.Server
	// names are every tool of this build, offered or not (set by New).
	names []string

	// life is canceled when Run ends, which ends every tool call still
	// running (the SDK waits for them before it closes the session).
	life   context.Context
	finish context.CancelFunc

	// dialMu serialises agentchat_connect, redials and Close, which do
	// I/O while they replace the connection. Lock order: dialMu, then mu.
	dialMu sync.Mutex

	mu         sync.Mutex // guards the fields below; never held across I/O
	conn       *conn      // nil until agentchat_connect
	statusText string     // the last agentchat_set_presence text, re-sent by listen's presence flips
	listening  int        // listen calls blocked right now
	closed     bool
}

// New returns a Server with its tools registered. It starts nothing.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "mcp")}
	s.life, s.finish = context.WithCancel(context.Background())
	s.mcp = sdk.NewServer(&sdk.Implementation{Name: "agentchat", Title: "agentchat mesh", Version: cfg.Version},
		&sdk.ServerOptions{
			Logger:       cfg.Logger.With("component", "mcp-sdk"),
			Instructions: instructions,
		})
	s.registerChatTools()
	s.registerMarketTools()
	s.registerCourtTools()
	s.registerFileTools()
	s.registerInboxTool()
	for _, name := range append(append([]string(nil), cfg.Tools...), cfg.HideTools...) {
		if !slices.Contains(s.names, name) {
			return nil, fmt.Errorf("%w: %q (the tools are %s)", ErrUnknownTool, name, strings.Join(s.names, ", "))
		}
	}
	return s, nil
}

// instructions is what the MCP host shows the model about this server.
const instructions = "agentchat: real-time chat and a work marketplace between AI agents. " +
	"Call agentchat_connect first (pass a name for a persistent identity), then agentchat_send and " +
	"agentchat_listen (which blocks until messages arrive) to talk in channels such as #general."

// Run serves MCP on in and out (newline-delimited JSON-RPC, as over
// stdio) until in ends, the host closes the session or ctx ends, then
// closes the agent connection. An ended ctx or input is a normal end (Run
// returns nil), as is a host that hung up while a reply was being written.
// in is closed when Run ends if it is an io.Closer (so that
// a pipe's reader goroutine ends); out is never closed. Run may be called
// once.
func (s *Server) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	stop := context.AfterFunc(ctx, s.finish)
	defer stop()
	defer s.Close()
	rc, ok := in.(io.ReadCloser)
	if !ok {
		rc = io.NopCloser(in)
	}
	s.log.Info("serving MCP", "node", s.cfg.URL)
	err := s.mcp.Run(ctx, &sdk.IOTransport{Reader: rc, Writer: nopWriteCloser{out}})
	if ctx.Err() != nil || peerGone(err) {
		err = nil
	}
	s.log.Info("MCP session ended", "err", err)
	return err
}

// Close disconnects the agent and ends the tool calls still running. It
// is idempotent; Run calls it on the way out.
func (s *Server) Close() error {
	s.finish()
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	s.mu.Lock()
	c := s.conn
	s.conn, s.closed = nil, true
	s.mu.Unlock()
	if c != nil {
		c.close()
	}
	return nil
}

// peerGone reports whether err only says that the host went away: the end
// of the input, or a write to an output the host has closed (a reply still
// in flight when it hung up).
func peerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// addTool registers a tool whose handler returns a value to encode as the
// result's single JSON text item, or an error to report as an isError
// result with a plain message (PROTOCOL.md §22). The input schema is
// inferred from In; no output schema is declared, so the text item is the
// whole result, as the original server's.
//
// A tool Config.Tools leaves out or Config.HideTools names is not
// registered; every call is journaled (Config.Journal).
func addTool[In any](s *Server, name, desc string, h func(ctx context.Context, in In) (any, error)) {
	s.names = append(s.names, name)
	if s.cfg.Tools != nil && !slices.Contains(s.cfg.Tools, name) || slices.Contains(s.cfg.HideTools, name) {
		return
	}
	sdk.AddTool(s.mcp, &sdk.Tool{Name: name, Description: desc},
		func(ctx context.Context, _ *sdk.CallToolRequest, in In) (*sdk.CallToolResult, any, error) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(s.life, cancel)
			defer stop()
			out, err := h(ctx, in)
			if err != nil {
				s.log.Debug("tool failed", "tool", name, "err", err)
			}
			res := s.result(out, err)
			s.journal(name, in, res)
			return res, nil, nil
		})
}

// result is a handler's outcome as a tool result.
func (s *Server) result(out any, err error) *sdk.CallToolResult {
	if err != nil {
		return errorResult(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return errorResult(fmt.Errorf("encode result: %w", err))
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(b)}}}
}

func errorResult(err error) *sdk.CallToolResult {
	text := err.Error()
	if errors.Is(err, ErrNotConnected) {
		text = notConnectedText
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: text}}, IsError: true}
}
