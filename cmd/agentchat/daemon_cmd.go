package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/identity"
)

// The daemon command of PROTOCOL.md §20 and §24: `agentchat daemon [URL]`
// runs an agent that keeps a connection and exchanges messages through
// files; stop, status and list manage the instances. The original's flags
// (-s/--status, -l/--list, --stop, --stop-all, -n/--name for the instance)
// work too.

// daemonStopTimeout bounds waiting for a daemon to stop.
const daemonStopTimeout = 15 * time.Second

func instanceFlag() cli.Flag {
	return &cli.StringFlag{Name: "instance", Aliases: []string{"name", "n"}, Value: daemon.DefaultInstance,
		Usage: "daemon instance `NAME` (its directory is ~/.agentchat/daemons/NAME)"}
}

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "run an agent that keeps a connection and exchanges messages through inbox/outbox files",
		Description: "The daemon writes every message and event it receives to inbox.jsonl and sends each line\n" +
			"{\"to\":\"#chan\"|\"@id\",\"content\":\"…\"} appended to outbox.jsonl, in\n" +
			"~/.agentchat/daemons/<instance>/. See the agent/daemon package documentation.",
		ArgsUsage: "[URL]",
		Flags: []cli.Flag{
			instanceFlag(),
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Value: identity.DefaultPath(),
				Usage: "identity `FILE` (created if missing)"},
			&cli.BoolFlag{Name: "ephemeral", Usage: "connect without an identity (a new agent ID on every connection)"},
			&cli.StringFlag{Name: "agent-name", Usage: "agent `NAME` (default: the identity's name, else agent-<pid>)"},
			&cli.StringSliceFlag{Name: "channels", Aliases: []string{"c"},
				Usage: "channels to join, comma or space separated; # added if missing (default: #general,#agents)"},
			&cli.BoolFlag{Name: "background", Aliases: []string{"b"}, Usage: "run detached and print the pid"},
			&cli.Float64Flag{Name: "max-reconnect-time", Value: daemon.DefaultMaxReconnectTime.Minutes(),
				Usage: "give up after `MINUTES` without the node"},
			&cli.BoolFlag{Name: "status", Aliases: []string{"s"}, Usage: "show the instance's status (as `daemon status`)"},
			&cli.BoolFlag{Name: "list", Aliases: []string{"l"}, Usage: "list the instances (as `daemon list`)"},
			&cli.BoolFlag{Name: "stop", Usage: "stop the instance (as `daemon stop`)"},
			&cli.BoolFlag{Name: "stop-all", Usage: "stop every running instance"},
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Hidden: true, Usage: "accepted for compatibility; unused"},
		},
		Action: daemonAction,
		Subcommands: []*cli.Command{
			{
				Name:   "stop",
				Usage:  "stop a running daemon (SIGTERM) and wait for it",
				Flags:  []cli.Flag{instanceFlag(), &cli.BoolFlag{Name: "all", Usage: "stop every running instance"}},
				Action: daemonStopAction,
			},
			{
				Name:   "status",
				Usage:  "show whether a daemon runs and is connected",
				Flags:  []cli.Flag{instanceFlag(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: daemonStatusAction,
			},
			{
				Name:   "list",
				Usage:  "list the daemon instances",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: daemonListAction,
			},
		},
	}
}

func daemonAction(c *cli.Context) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	switch {
	case c.Bool("list"):
		return printDaemonList(c, false)
	case c.Bool("status"):
		return printDaemonStatus(c, c.String("instance"), false)
	case c.Bool("stop"):
		return stopDaemons(c, c.String("instance"), false)
	case c.Bool("stop-all"):
		return stopDaemons(c, "", true)
	}
	channels, err := daemonChannels(c, args)
	if err != nil {
		return err
	}
	instance := daemon.SanitizeInstance(c.String("instance"))
	var id *identity.File
	idPath := ""
	if !c.Bool("ephemeral") {
		if idPath, err = filepath.Abs(c.String("identity")); err != nil {
			return err
		}
		f, created, err := identity.LoadOrCreate(idPath, c.String("agent-name"))
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(c.App.ErrWriter, "created identity %s (@%s)\n", idPath, f.AgentID)
		}
		id = f
	}
	maxReconnect := time.Duration(c.Float64("max-reconnect-time") * float64(time.Minute))
	if maxReconnect <= 0 {
		return errors.New("--max-reconnect-time must be positive")
	}
	if c.Bool("background") {
		return startDaemonBackground(c, url, instance, idPath, channels)
	}

	cfg := daemon.Config{URL: url, Instance: instance, Identity: id, Name: c.String("agent-name"),
		Channels: channels, MaxReconnectTime: maxReconnect}
	if os.Getenv(daemon.DetachedEnv) == "" {
		// In the foreground the log also goes to stderr; detached, stderr
		// is daemon.log itself.
		if cfg.Logger, err = newLogger(c); err != nil {
			return err
		}
	}
	d, err := daemon.New(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "daemon %s (pid %d) connecting to %s\n  inbox:  %s\n  outbox: %s\n",
		instance, os.Getpid(), url, filepath.Join(d.Dir(), "inbox.jsonl"), filepath.Join(d.Dir(), "outbox.jsonl"))
	return d.Run(c.Context)
}

// daemonChannels reads -c: comma or space separated, repeatable, with
// further channel arguments after it as the original allows (-c #a #b); #
// is added where missing. nil means the daemon's defaults.
func daemonChannels(c *cli.Context, args []string) ([]string, error) {
	raw := c.StringSlice("channels")
	for _, a := range args {
		if !strings.HasPrefix(a, "#") || len(raw) == 0 {
			return nil, fmt.Errorf("unexpected argument %q; usage: agentchat daemon %s", a, c.Command.ArgsUsage)
		}
		raw = append(raw, a)
	}
	var out []string
	for _, r := range raw {
		for _, ch := range strings.FieldsFunc(r, func(r rune) bool { return r == ',' || r == ' ' }) {
			if !strings.HasPrefix(ch, "#") {
				ch = "#" + ch
			}
			out = append(out, ch)
		}
	}
	return out, nil
}

// startDaemonBackground re-executes this binary detached with the same
// settings, without --background.
func startDaemonBackground(c *cli.Context, url, instance, idPath string, channels []string) error {
	if info, err := daemon.Status("", instance); err == nil && info.Running {
		return fmt.Errorf("daemon %s already running (pid %d)", instance, info.PID)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"--log-level", c.String("log-level"), "--log-format", c.String("log-format"),
		"daemon", url, "--instance", instance,
		"--max-reconnect-time", strconv.FormatFloat(c.Float64("max-reconnect-time"), 'f', -1, 64)}
	if idPath == "" {
		args = append(args, "--ephemeral")
	} else {
		args = append(args, "--identity", idPath)
	}
	if n := c.String("agent-name"); n != "" {
		args = append(args, "--agent-name", n)
	}
	if channels != nil {
		args = append(args, "--channels", strings.Join(channels, ","))
	}
	pid, err := daemon.StartBackground(exe, args, "", instance, 10*time.Second)
	if err != nil {
		return err
	}
	dir := daemon.InstanceDir("", instance)
	fmt.Fprintf(c.App.Writer, "Daemon %s started in background (pid %d)\n  inbox:  %s\n  outbox: %s\n  log:    %s\n",
		instance, pid, filepath.Join(dir, "inbox.jsonl"), filepath.Join(dir, "outbox.jsonl"), filepath.Join(dir, "daemon.log"))
	return nil
}

func daemonStopAction(c *cli.Context) error {
	return stopDaemons(c, c.String("instance"), c.Bool("all"))
}

func daemonStatusAction(c *cli.Context) error {
	return printDaemonStatus(c, c.String("instance"), c.Bool("json"))
}

func daemonListAction(c *cli.Context) error { return printDaemonList(c, c.Bool("json")) }

// stopDaemons stops one instance, or with all every running one. An
// instance that is not running is reported, not an error.
func stopDaemons(c *cli.Context, instance string, all bool) error {
	names := []string{daemon.SanitizeInstance(instance)}
	if all {
		infos, err := daemon.List("")
		if err != nil {
			return err
		}
		names = names[:0]
		for _, info := range infos {
			if info.Running {
				names = append(names, info.Instance)
			}
		}
		if len(names) == 0 {
			fmt.Fprintln(c.App.Writer, "No daemons running")
			return nil
		}
	}
	var errs []error
	for _, name := range names {
		ctx, cancel := context.WithTimeout(c.Context, daemonStopTimeout)
		pid, err := daemon.Stop(ctx, "", name)
		cancel()
		switch {
		case err == nil:
			fmt.Fprintf(c.App.Writer, "Daemon %s stopped (pid %d)\n", name, pid)
		case errors.Is(err, daemon.ErrNotRunning):
			fmt.Fprintf(c.App.Writer, "Daemon %s is not running\n", name)
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func printDaemonStatus(c *cli.Context, instance string, asJSON bool) error {
	info, err := daemon.Status("", instance)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(c.App.Writer).Encode(info)
	}
	w := c.App.Writer
	if !info.Running {
		fmt.Fprintf(w, "Daemon %s is not running\n", info.Instance)
		return nil
	}
	conn := "not connected"
	if info.Connected {
		conn = fmt.Sprintf("connected as %s to %s", info.AgentID, info.URL)
	}
	fmt.Fprintf(w, "Daemon %s is running (pid %d), %s\n", info.Instance, info.PID, conn)
	if len(info.Channels) > 0 {
		fmt.Fprintf(w, "  channels: %s\n", strings.Join(info.Channels, ", "))
	}
	fmt.Fprintf(w, "  dir:      %s\n", info.Dir)
	return nil
}

func printDaemonList(c *cli.Context, asJSON bool) error {
	infos, err := daemon.List("")
	if err != nil {
		return err
	}
	if asJSON {
		if infos == nil {
			infos = []daemon.Info{}
		}
		return json.NewEncoder(c.App.Writer).Encode(infos)
	}
	w := c.App.Writer
	if len(infos) == 0 {
		fmt.Fprintln(w, "No daemon instances")
		return nil
	}
	for _, info := range infos {
		state := "stopped"
		switch {
		case info.Running && info.Connected:
			state = fmt.Sprintf("running (pid %d), connected as %s", info.PID, info.AgentID)
		case info.Running:
			state = fmt.Sprintf("running (pid %d), not connected", info.PID)
		}
		fmt.Fprintf(w, "%-20s %s\n", info.Instance, state)
	}
	return nil
}
