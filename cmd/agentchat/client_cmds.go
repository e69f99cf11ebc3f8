package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// The agent commands of PROTOCOL.md §24 (send, listen, channels, agents,
// verify, and in client_market_cmds.go the marketplace ones), with the
// original CLI's names and flags. Each takes the node URL as its first
// argument; when the first argument is not a URL, AGENTCHAT_URL (default
// ws://localhost:6667) is used. Flags may follow the arguments, as the
// original allows.

// defaultNodeURL is the node URL without an argument or AGENTCHAT_URL.
const defaultNodeURL = "ws://localhost:6667"

// listenTypes are the frames listen prints, as the original's listen does.
var listenTypes = map[string]bool{
	protocol.TypeMsg: true, protocol.TypeAgentJoined: true, protocol.TypeAgentLeft: true,
	protocol.TypeProposal: true, protocol.TypeAccept: true, protocol.TypeReject: true,
	protocol.TypeComplete: true, protocol.TypeDispute: true,
}

func agentNameFlag() cli.Flag {
	return &cli.StringFlag{Name: "name", Aliases: []string{"n"},
		Usage: "agent `NAME` (default: the identity's name, else agent-<pid>)"}
}

// optionalIdentityFlag is -i for commands that work without a key.
func optionalIdentityFlag() cli.Flag {
	return &cli.StringFlag{Name: "identity", Aliases: []string{"i"},
		Usage: "identity `FILE` (created if missing); without it the agent is ephemeral"}
}

// requiredIdentityFlag is -i for commands that sign.
func requiredIdentityFlag() cli.Flag {
	return &cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Value: identity.DefaultPath(),
		Usage: "identity `FILE` (created if missing)"}
}

func sendCommand() *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "send one message to a #channel or an @agent, then disconnect",
		ArgsUsage: "[URL] TARGET MESSAGE",
		Flags:     []cli.Flag{agentNameFlag(), optionalIdentityFlag()},
		Action:    sendAction,
	}
}

func listenCommand() *cli.Command {
	return &cli.Command{
		Name:      "listen",
		Usage:     "join channels and print MSG, AGENT_JOINED/LEFT and proposal frames as JSON lines",
		ArgsUsage: "[URL] [CHANNEL...]",
		Flags: []cli.Flag{agentNameFlag(), optionalIdentityFlag(),
			&cli.IntFlag{Name: "max-messages", Aliases: []string{"m"}, Usage: "disconnect after `N` frames (0: never)"},
			&cli.BoolFlag{Name: "reconnect", Usage: "reconnect and re-join when the connection drops"}},
		Action: listenAction,
	}
}

func channelsCommand() *cli.Command {
	return &cli.Command{
		Name:      "channels",
		Usage:     "list the node's public channels",
		ArgsUsage: "[URL]",
		Flags:     []cli.Flag{agentNameFlag(), optionalIdentityFlag(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action:    channelsAction,
	}
}

func agentsCommand() *cli.Command {
	return &cli.Command{
		Name:      "agents",
		Usage:     "list the agents in a channel",
		ArgsUsage: "[URL] CHANNEL",
		Flags:     []cli.Flag{agentNameFlag(), optionalIdentityFlag(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action:    agentsAction,
	}
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "ask an agent to prove its key (VERIFY_REQUEST) and print the verified key",
		ArgsUsage: "[URL] AGENT",
		Flags:     []cli.Flag{agentNameFlag(), optionalIdentityFlag()},
		Action:    verifyAction,
	}
}

// commandArgs returns the positional arguments of the command, applying the
// flags written among them: the original CLI (commander) accepts options
// anywhere, urfave/cli stops parsing flags at the first argument. An
// argument that is not one of the command's flags stays positional; "--"
// ends flag parsing.
func commandArgs(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := lookupFlag(c.Command.Flags, name)
		if f == nil {
			out = append(out, a)
			continue
		}
		if tv, ok := f.(cli.DocGenerationFlag); ok && tv.TakesValue() {
			if !hasValue {
				if i+1 == len(args) {
					return nil, fmt.Errorf("flag %s needs a value", a)
				}
				i++
				value = args[i]
			}
		} else if !hasValue {
			value = "true"
		}
		if err := c.Set(f.Names()[0], value); err != nil {
			return nil, fmt.Errorf("flag %s: %w", a, err)
		}
	}
	return out, nil
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// nodeArgs splits the node URL off the arguments: the first argument when
// it is a URL, else AGENTCHAT_URL or the default.
func nodeArgs(c *cli.Context) (string, []string, error) {
	args, err := commandArgs(c)
	if err != nil {
		return "", nil, err
	}
	if len(args) > 0 && strings.Contains(args[0], "://") {
		return args[0], args[1:], nil
	}
	if u := os.Getenv("AGENTCHAT_URL"); u != "" {
		return u, args, nil
	}
	return defaultNodeURL, args, nil
}

// wantArgs checks the number of positional arguments.
func wantArgs(c *cli.Context, args []string, min, max int) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		return fmt.Errorf("usage: agentchat %s %s", c.Command.Name, c.Command.ArgsUsage)
	}
	return nil
}

// loadIdentity loads the identity named by -i, creating it if missing; ""
// (no -i) is an ephemeral agent.
func loadIdentity(c *cli.Context) (*identity.File, error) {
	path := c.String("identity")
	if path == "" {
		return nil, nil
	}
	f, created, err := identity.LoadOrCreate(path, c.String("name"))
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(c.App.ErrWriter, "created identity %s (@%s)\n", path, f.AgentID)
	}
	return f, nil
}

// dialNode connects to url as the agent described by the flags.
func dialNode(c *cli.Context, url string, opts client.Options) (*client.Client, error) {
	log, err := newLogger(c)
	if err != nil {
		return nil, err
	}
	id, err := loadIdentity(c)
	if err != nil {
		return nil, err
	}
	opts.URL, opts.Name, opts.Identity, opts.Logger = url, c.String("name"), id, log
	return client.Dial(c.Context, opts)
}

func sendAction(c *cli.Context) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if err := wantArgs(c, args, 2, 2); err != nil {
		return err
	}
	target, message := args[0], args[1]
	cl, err := dialNode(c, url, client.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	if strings.HasPrefix(target, "#") {
		if _, err := cl.Join(c.Context, target); err != nil {
			return err
		}
	}
	if err := cl.Send(c.Context, target, message); err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, "Message sent")
	return nil
}

func listenAction(c *cli.Context) error {
	url, channels, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if len(channels) == 0 {
		channels = []string{"#general"}
	}
	max := c.Int("max-messages")
	cl, err := dialNode(c, url, client.Options{RawEvents: true, Reconnect: c.Bool("reconnect")})
	if err != nil {
		return err
	}
	defer cl.Close()
	count := 0
	// printFrame writes one frame as received; it reports true once max
	// frames have been printed.
	printFrame := func(data []byte) bool {
		fmt.Fprintf(c.App.Writer, "%s\n", data)
		count++
		return max > 0 && count >= max
	}
	for _, ch := range channels {
		res, err := cl.Join(c.Context, ch)
		if err != nil {
			return err
		}
		for _, raw := range res.RawReplay {
			if printFrame(raw) {
				return listenDone(c, max)
			}
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "Connected as %s\nJoined: %s\n", cl.AgentID(), strings.Join(channels, ", "))
	for {
		select {
		case ev, ok := <-cl.Events():
			if !ok {
				if err := cl.Err(); err != nil && !errors.Is(err, client.ErrClosed) {
					return err
				}
				return nil
			}
			if r, isRaw := ev.(*client.RawEvent); isRaw && listenTypes[r.Type] && printFrame(r.Data) {
				return listenDone(c, max)
			}
		case <-c.Context.Done():
			return nil
		}
	}
}

func listenDone(c *cli.Context, max int) error {
	fmt.Fprintf(c.App.ErrWriter, "Received %d messages, disconnecting\n", max)
	return nil
}

func channelsAction(c *cli.Context) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if err := wantArgs(c, args, 0, 0); err != nil {
		return err
	}
	cl, err := dialNode(c, url, client.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	list, err := cl.ListChannels(c.Context)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, list)
	}
	fmt.Fprintln(c.App.Writer, "Available channels:")
	for _, ch := range list {
		extra := ""
		if ch.VerifiedOnly {
			extra = " [verified only]"
		}
		fmt.Fprintf(c.App.Writer, "  %s (%d agents)%s\n", ch.Name, ch.Agents, extra)
	}
	return nil
}

func agentsAction(c *cli.Context) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if err := wantArgs(c, args, 1, 1); err != nil {
		return err
	}
	cl, err := dialNode(c, url, client.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	list, err := cl.ListAgents(c.Context, args[0])
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, list)
	}
	fmt.Fprintf(c.App.Writer, "Agents in %s:\n", args[0])
	for _, a := range list {
		status := ""
		if a.StatusText != nil && *a.StatusText != "" {
			status = " - " + *a.StatusText
		}
		fmt.Fprintf(c.App.Writer, "  %s (%s) [%s]%s\n", a.ID, a.Name, a.Presence, status)
	}
	return nil
}

func verifyAction(c *cli.Context) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if err := wantArgs(c, args, 1, 1); err != nil {
		return err
	}
	cl, err := dialNode(c, url, client.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	pub, err := cl.VerifyPeer(c.Context, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "verified @%s\n%s", identity.AgentID(pub), pub)
	return nil
}

// printJSON writes v as one line of JSON, without HTML escaping.
func printJSON(c *cli.Context, v any) error {
	b, err := protocol.Encode(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s\n", b)
	return err
}
