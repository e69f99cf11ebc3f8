package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/transfer"
	"github.com/agentchat/mesh/identity"
)

// The file commands of PROTOCOL.md §21: send files to an agent, and
// receive (auto-accept) the files other agents send. Like the other agent
// commands they take the node URL as the first argument, else AGENTCHAT_URL,
// else ws://localhost:6667.

func fileCommand() *cli.Command {
	return &cli.Command{
		Name:  "file",
		Usage: "send files to an agent or receive files (the _ft transfer of SLURP archives)",
		Subcommands: []*cli.Command{
			{
				Name:      "send",
				Usage:     "offer files (and directories) to an agent and send them once accepted",
				ArgsUsage: "[URL] @AGENT PATH...",
				Flags: []cli.Flag{agentNameFlag(), optionalIdentityFlag(),
					&cli.DurationFlag{Name: "timeout", Value: defaultFileSendTimeout,
						Usage: "give up after this long: connecting, waiting for the receiver to accept, sending and waiting for its ack"}},
				Action: fileSendAction,
			},
			{
				Name:      "receive",
				Usage:     "accept the files offered to this agent, printing one JSON line per transfer",
				ArgsUsage: "[URL]",
				Flags: []cli.Flag{agentNameFlag(), optionalIdentityFlag(),
					&cli.StringFlag{Name: "dir", Aliases: []string{"d"},
						Usage: "write received files into `DIR` (default: $TMPDIR/agentchat-files/<transfer id>)"},
					&cli.StringFlag{Name: "from", Usage: "accept offers only from `@AGENT` (others are ignored)"},
					&cli.BoolFlag{Name: "once", Usage: "exit after the first transfer"}},
				Action: fileReceiveAction,
			},
		},
	}
}

func fileSendAction(c *cli.Context) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if len(args) < 2 {
		return fileUsage(c)
	}
	to, paths := args[0], args[1:]
	if _, ok := identity.ParseTarget(to); !ok {
		return fmt.Errorf("%q is not an agent ID (@ followed by 16 hex or 8 characters)", to)
	}
	for _, p := range paths { // fail before connecting
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	timeout := c.Duration("timeout")
	if timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, not %s", timeout)
	}
	// The whole transfer is bounded, not only each wait: a receiver that
	// accepts and then falls silent ends the command at the same bound.
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	c.Context = ctx
	cl, err := dialNode(c, url, client.Options{})
	if err != nil {
		return sendTimedOut(ctx, to, timeout, err)
	}
	defer cl.Close()
	s := transfer.NewSender(cl, transfer.SenderConfig{ReplyTimeout: timeout, AckTimeout: timeout})
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	fmt.Fprintf(c.App.ErrWriter, "Offering %d path(s) to %s as %s (giving up after %s)\n", len(paths), to, cl.AgentID(), timeout)
	res, err := s.Send(ctx, to, paths)
	if err != nil {
		return sendTimedOut(ctx, to, timeout, err)
	}
	return printJSON(c, res)
}

// defaultFileSendTimeout bounds a file send: long enough for a person to
// accept, short enough that a receiver that never answers ends the command.
const defaultFileSendTimeout = 2 * time.Minute

// sendTimedOut says so when err is the command's own bound running out:
// the error is then a transfer.ErrTimeout, as when one of the transfer's
// waits runs out first.
func sendTimedOut(ctx context.Context, to string, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, transfer.ErrTimeout) {
		return fmt.Errorf("file send to %s: not done within %s (--timeout): %w: %w", to, timeout, transfer.ErrTimeout, err)
	}
	return err
}

func fileUsage(c *cli.Context) error {
	return fmt.Errorf("usage: agentchat file %s %s", c.Command.Name, c.Command.ArgsUsage)
}

// fileReceived is the JSON line printed per transfer.
type fileReceived struct {
	OK    bool                    `json:"ok"`
	TID   string                  `json:"tid"`
	From  string                  `json:"from"`
	Dir   string                  `json:"dir,omitempty"`
	Files []transfer.ReceivedFile `json:"files"`
	Size  int64                   `json:"size"`
	Error string                  `json:"error,omitempty"`
}

func fileReceiveAction(c *cli.Context) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return fileUsage(c)
	}
	from := c.String("from")
	if from != "" {
		id, ok := identity.ParseTarget(from)
		if !ok {
			return fmt.Errorf("--from %q is not an agent ID", from)
		}
		from = "@" + id
	}
	dir := c.String("dir")
	cl, err := dialNode(c, url, client.Options{Reconnect: !c.Bool("once")})
	if err != nil {
		return err
	}
	defer cl.Close()

	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	var (
		outMu   sync.Mutex
		failed  error
		stopped = make(chan struct{})
		once    sync.Once
	)
	r := transfer.NewReceiver(cl, transfer.ReceiverConfig{
		OnOffer: func(o transfer.Offer) (string, bool) {
			if from != "" && o.From != from {
				fmt.Fprintf(c.App.ErrWriter, "Ignoring offer %s from %s\n", o.TID, o.From)
				return "", false
			}
			fmt.Fprintf(c.App.ErrWriter, "Accepting %d file(s), %d bytes, from %s (%s)\n", len(o.Files), o.TotalSize, o.From, o.TID)
			if dir != "" {
				return dir, true
			}
			return filepath.Join(os.TempDir(), "agentchat-files", o.TID), true
		},
		OnResult: func(res *transfer.Result, err error) {
			line := fileReceived{OK: err == nil, TID: res.TID, From: res.From, Dir: res.Dir, Files: res.Files, Size: res.Size}
			if line.Files == nil {
				line.Files = []transfer.ReceivedFile{}
			}
			if err != nil {
				line.Error = err.Error()
			}
			outMu.Lock()
			if perr := printJSON(c, line); perr != nil && failed == nil {
				failed = perr
			}
			if err != nil && failed == nil && c.Bool("once") {
				failed = err
			}
			outMu.Unlock()
			if c.Bool("once") {
				once.Do(func() { close(stopped) })
			}
		},
	})
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	fmt.Fprintf(c.App.ErrWriter, "Receiving as %s\n", cl.AgentID())
	select {
	case <-stopped:
	case <-ctx.Done():
	case <-cl.Done():
	}
	cancel()
	wg.Wait()
	outMu.Lock()
	defer outMu.Unlock()
	if failed != nil {
		return failed
	}
	if err := cl.Err(); err != nil && !errors.Is(err, client.ErrClosed) && !errors.Is(err, context.Canceled) {
		select {
		case <-stopped:
		default:
			return err
		}
	}
	return nil
}
