package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentchat/mesh/agent/mcp"
)

// Tool is one agentchat tool as an API backend offers it to a model: the
// MCP bridge's name, description and JSON Schema of the arguments.
type Tool struct {
	Name        string
	Description string
	Schema      json.RawMessage
}

// Tools is what a backend may call during a turn. Call runs one tool with
// the model's JSON arguments and returns the tool's text (JSON, or an error
// message when isError); err is set only when the session must end (a
// guard tripped, or the MCP session broke).
type Tools interface {
	List() []Tool
	Call(ctx context.Context, name string, args json.RawMessage) (text string, isError bool, err error)
}

// toolbox is an in-process MCP session with an agent/mcp Server over a
// pair of pipes: the runner is the MCP host, so the tools a model calls are
// exactly the ones `agentchat mcp` serves. Calls go through the session's
// guards.
type toolbox struct {
	cs     *sdk.ClientSession
	tools  []Tool
	guards *guards
	record func(Entry) // appends a tool call to the transcript

	stop func() // closes the pipes and waits for the server
}

// openToolbox starts srv on pipes and connects an MCP client session to it.
func openToolbox(ctx context.Context, srv *mcp.Server, g *guards, record func(Entry)) (*toolbox, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() {
		_ = srv.Run(runCtx, inR, outW)
		_ = outW.Close()
	})
	// The end of the input ends the server (and the calls still running);
	// canceling it first would make the SDK log the end as an error.
	stop := func() {
		_ = inW.Close()
		_ = outR.Close()
		wg.Wait()
		cancel()
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "agentchat-runner", Version: "1"}, nil).
		Connect(ctx, &sdk.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		stop()
		return nil, fmt.Errorf("start tools: %w", err)
	}
	tb := &toolbox{cs: cs, guards: g, record: record, stop: stop}
	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		tb.close()
		return nil, fmt.Errorf("list tools: %w", err)
	}
	for _, t := range list.Tools {
		if slices.Contains(ownTools, t.Name) {
			continue
		}
		schema, err := json.Marshal(t.InputSchema)
		if err != nil {
			tb.close()
			return nil, fmt.Errorf("tool %s schema: %w", t.Name, err)
		}
		tb.tools = append(tb.tools, Tool{Name: t.Name, Description: t.Description, Schema: schema})
	}
	return tb, nil
}

func (tb *toolbox) close() {
	_ = tb.cs.Close()
	tb.stop()
}

func (tb *toolbox) List() []Tool { return tb.tools }

// Call runs a tool a model asked for, counting it (and a send) against the
// guards first.
func (tb *toolbox) Call(ctx context.Context, name string, args json.RawMessage) (string, bool, error) {
	if !slices.ContainsFunc(tb.tools, func(t Tool) bool { return t.Name == name }) {
		return fmt.Sprintf("unknown tool %q", name), true, nil
	}
	if err := tb.guards.tool(name == sendTool); err != nil {
		return "", false, err
	}
	var m map[string]any
	if len(args) > 0 && string(args) != "null" {
		if err := json.Unmarshal(args, &m); err != nil {
			return fmt.Sprintf("arguments of %s are not a JSON object: %v", name, err), true, nil
		}
	}
	text, isErr, err := tb.call(ctx, name, m)
	if err != nil {
		return "", false, err
	}
	tb.record(Entry{Kind: KindTool, To: name, Content: string(args) + " -> " + text})
	return text, isErr, nil
}

// sendTool is the tool that speaks on the mesh; the runner also uses it for
// a backend's text reply.
const sendTool = "agentchat_send"

// call runs a tool without guards and returns its text.
func (tb *toolbox) call(ctx context.Context, name string, args map[string]any) (string, bool, error) {
	res, err := tb.cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", false, fmt.Errorf("tool %s: %w", name, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*sdk.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String(), res.IsError, nil
}

// callJSON runs a tool the runner itself needs and decodes its JSON
// result into out; a tool error is an error.
func (tb *toolbox) callJSON(ctx context.Context, name string, args map[string]any, out any) error {
	text, isErr, err := tb.call(ctx, name, args)
	if err != nil {
		return err
	}
	if isErr {
		return fmt.Errorf("%s: %s", name, text)
	}
	if err := json.Unmarshal([]byte(text), out); err != nil {
		return fmt.Errorf("%s: decode result: %w", name, err)
	}
	return nil
}
