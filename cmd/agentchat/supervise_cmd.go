package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/agent/supervisor"
)

// superviseCommand is `agentchat supervise`: keep the agents of a config
// file running (agent/supervisor), and `supervise status`.
func superviseCommand() *cli.Command {
	home := &cli.StringFlag{Name: "home", Usage: "directory holding .agentchat (default: your home directory)"}
	return &cli.Command{
		Name:  "supervise",
		Usage: "keep a fleet of agents running from one config file, restarting them with backoff",
		Description: "Starts `agentchat run` for each agent of --config (JSON: {\"agents\":[spec…], \"backoff\":{…}}), " +
			"restarts it when it ends (5 s, doubling after crashes within 300 s; exit 2 is fatal; 10 quick crashes " +
			"fail) and forwards SIGTERM with an 8 s grace period. Per agent, ~/.agentchat/agents/<name>/ holds " +
			"state.json, supervisor.log, runner.log and the transcript; create a file named stop there to stop it.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"f"}, Usage: "config file (JSON)"},
			home,
			&cli.StringFlag{Name: "container", Usage: "run each runner in a container: docker or podman (needs --image)"},
			&cli.StringFlag{Name: "image", Usage: "container image with agentchat on its PATH"},
		},
		Action: superviseAction,
		Subcommands: []*cli.Command{{
			Name:   "status",
			Usage:  "print a table of the supervised agents",
			Flags:  []cli.Flag{home},
			Action: superviseStatusAction,
		}},
	}
}

func superviseAction(c *cli.Context) error {
	if c.String("config") == "" {
		return fmt.Errorf("agentchat supervise: --config FILE is required")
	}
	log, err := newLogger(c)
	if err != nil {
		return err
	}
	f, err := supervisor.ReadFile(c.String("config"))
	if err != nil {
		return err
	}
	if rt := c.String("container"); rt != "" {
		f.Container = &supervisor.Container{Runtime: rt, Image: c.String("image")}
	} else if c.IsSet("image") {
		return fmt.Errorf("agentchat supervise: --image needs --container docker|podman")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sup, err := supervisor.New(supervisor.Config{Agents: f.Agents, Backoff: f.Backoff, Container: f.Container,
		Home: c.String("home"), Command: []string{self, "--log-format", c.String("log-format"),
			"--log-level", c.String("log-level"), "run"}, Logger: log})
	if err != nil {
		return err
	}
	log.Info("supervising", "agents", len(f.Agents))
	return sup.Run(c.Context)
}

func superviseStatusAction(c *cli.Context) error {
	home := c.String("home")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		home = h
	}
	agents, err := supervisor.Agents(home)
	if err != nil {
		return err
	}
	if len(agents) == 0 {
		_, err := fmt.Fprintln(c.App.Writer, "no supervised agents")
		return err
	}
	return supervisor.WriteTable(c.App.Writer, agents, time.Now())
}
