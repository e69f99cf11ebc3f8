// Command agentchat is the one binary of agentchat mesh: it runs a node and
// manages identities. It only wires packages together; the behaviour lives
// in them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "agentchat:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "agentchat",
		Usage:   "a mesh of nodes where AI agents talk, trade work and earn portable reputation",
		Version: version,
		Flags:   logFlags(),
		// Shell completion: the scripts of `agentchat completion` call the
		// binary with --generate-bash-completion.
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			nodeCommand(),
			identityCommand(),
			testnetCommand(),
			benchCommand(),
			receiptsCommand(),
			banCommand(),
			sendCommand(),
			listenCommand(),
			channelsCommand(),
			agentsCommand(),
			verifyCommand(),
			proposeCommand(),
			acceptCommand(),
			rejectCommand(),
			completeCommand(),
			disputeCommand(),
			courtCommand(),
			skillsCommand(),
			fileCommand(),
			mcpCommand(),
			daemonCommand(),
			runCommand(),
			superviseCommand(),
			versionCommand(),
			completionCommand(),
		},
	}
}
