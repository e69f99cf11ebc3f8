package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
)

// The marketplace commands of PROTOCOL.md §24: propose, accept, reject,
// complete, dispute and skills. They sign, so they need an identity (-i,
// default ~/.agentchat/identity.json, created if missing), and print the
// node's echo of the operation as one JSON line.

func proposeCommand() *cli.Command {
	return &cli.Command{
		Name:      "propose",
		Usage:     "send a signed work proposal to an agent",
		ArgsUsage: "[URL] AGENT TASK",
		Flags: []cli.Flag{requiredIdentityFlag(), agentNameFlag(),
			&cli.Float64Flag{Name: "amount", Aliases: []string{"a"}, Usage: "payment amount"},
			&cli.StringFlag{Name: "currency", Aliases: []string{"c"}, Usage: "currency (SOL, USDC, AKT, …)"},
			&cli.StringFlag{Name: "payment-code", Aliases: []string{"p"}, Usage: "your payment code (BIP47, address)"},
			&cli.Int64Flag{Name: "expires", Aliases: []string{"e"}, Value: 300, Usage: "expiry in `SECONDS` (0: none)"},
			&cli.StringFlag{Name: "terms", Aliases: []string{"t"}, Usage: "additional terms"},
			&cli.Int64Flag{Name: "elo-stake", Aliases: []string{"s"}, Usage: "ELO points to stake"}},
		Action: proposeAction,
	}
}

func acceptCommand() *cli.Command {
	return &cli.Command{
		Name:      "accept",
		Usage:     "accept a proposal",
		ArgsUsage: "[URL] PROPOSAL_ID",
		Flags: []cli.Flag{requiredIdentityFlag(), agentNameFlag(),
			&cli.StringFlag{Name: "payment-code", Aliases: []string{"p"}, Usage: "your payment code for receiving payment"},
			&cli.Int64Flag{Name: "elo-stake", Aliases: []string{"s"}, Usage: "ELO points to stake (as acceptor)"}},
		Action: func(c *cli.Context) error {
			return marketOp(c, 1, func(cl *client.Client, args []string) (any, error) {
				return cl.Accept(c.Context, args[0], c.String("payment-code"), c.Int64("elo-stake"))
			})
		},
	}
}

func rejectCommand() *cli.Command {
	return &cli.Command{
		Name:      "reject",
		Usage:     "reject a proposal",
		ArgsUsage: "[URL] PROPOSAL_ID",
		Flags: []cli.Flag{requiredIdentityFlag(), agentNameFlag(),
			&cli.StringFlag{Name: "reason", Aliases: []string{"r"}, Usage: "reason for rejection"}},
		Action: func(c *cli.Context) error {
			return marketOp(c, 1, func(cl *client.Client, args []string) (any, error) {
				return cl.Reject(c.Context, args[0], c.String("reason"))
			})
		},
	}
}

func completeCommand() *cli.Command {
	return &cli.Command{
		Name:      "complete",
		Usage:     "mark a proposal complete",
		ArgsUsage: "[URL] PROPOSAL_ID",
		Flags: []cli.Flag{requiredIdentityFlag(), agentNameFlag(),
			&cli.StringFlag{Name: "proof", Aliases: []string{"p"}, Usage: "proof of completion (tx hash, URL, …)"}},
		Action: func(c *cli.Context) error {
			return marketOp(c, 1, func(cl *client.Client, args []string) (any, error) {
				return cl.Complete(c.Context, args[0], c.String("proof"))
			})
		},
	}
}

func disputeCommand() *cli.Command {
	return &cli.Command{
		Name:      "dispute",
		Usage:     "dispute a proposal",
		ArgsUsage: "[URL] PROPOSAL_ID REASON",
		Flags:     []cli.Flag{requiredIdentityFlag(), agentNameFlag()},
		Action: func(c *cli.Context) error {
			return marketOp(c, 2, func(cl *client.Client, args []string) (any, error) {
				return cl.Dispute(c.Context, args[0], args[1])
			})
		},
	}
}

func skillsCommand() *cli.Command {
	return &cli.Command{
		Name:  "skills",
		Usage: "register and search skills in the marketplace",
		Subcommands: []*cli.Command{
			{
				Name:      "register",
				Aliases:   []string{"announce"},
				Usage:     "replace this agent's skill registration with one skill",
				ArgsUsage: "[URL]",
				Flags: []cli.Flag{requiredIdentityFlag(), agentNameFlag(),
					&cli.StringFlag{Name: "capability", Aliases: []string{"c"}, Usage: "skill `NAME` (required)"},
					&cli.Float64Flag{Name: "rate", Aliases: []string{"r"}, Usage: "rate per task"},
					&cli.StringFlag{Name: "currency", Value: "TEST", Usage: "currency of the rate"},
					&cli.StringFlag{Name: "description", Usage: "what the skill does"}},
				Action: skillsRegisterAction,
			},
			{
				Name:      "search",
				Usage:     "search the skills registry",
				ArgsUsage: "[URL]",
				Flags: []cli.Flag{agentNameFlag(), optionalIdentityFlag(),
					&cli.StringFlag{Name: "capability", Aliases: []string{"c"}, Usage: "capability substring"},
					&cli.Float64Flag{Name: "max-rate", Usage: "highest rate"},
					&cli.StringFlag{Name: "currency", Usage: "currency of the rate"},
					&cli.IntFlag{Name: "limit", Aliases: []string{"l"}, Usage: "most results (0: the node's default)"},
					&cli.BoolFlag{Name: "json", Usage: "print the SEARCH_RESULTS frame as JSON"}},
				Action: skillsSearchAction,
			},
		},
	}
}

// marketOp runs one signed operation with nargs arguments after the URL
// and prints the node's echo.
func marketOp(c *cli.Context, nargs int, op func(*client.Client, []string) (any, error)) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if err := wantArgs(c, args, nargs, nargs); err != nil {
		return err
	}
	cl, err := dialNode(c, url, client.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	echo, err := op(cl, args)
	if err != nil {
		return err
	}
	return printJSON(c, echo)
}

func proposeAction(c *cli.Context) error {
	return marketOp(c, 2, func(cl *client.Client, args []string) (any, error) {
		return cl.Propose(c.Context, client.ProposalArgs{To: args[0], Task: args[1],
			Amount: c.Float64("amount"), Currency: c.String("currency"), PaymentCode: c.String("payment-code"),
			Expires: c.Int64("expires"), Terms: c.String("terms"), EloStake: c.Int64("elo-stake")})
	})
}

func skillsRegisterAction(c *cli.Context) error {
	return marketOp(c, 0, func(cl *client.Client, _ []string) (any, error) {
		if c.String("capability") == "" {
			return nil, errors.New("--capability is required")
		}
		skill := map[string]any{"capability": c.String("capability")}
		if c.IsSet("rate") {
			skill["rate"] = c.Float64("rate")
		}
		if cur := c.String("currency"); cur != "" {
			skill["currency"] = cur
		}
		if d := c.String("description"); d != "" {
			skill["description"] = d
		}
		return cl.RegisterSkills(c.Context, []map[string]any{skill})
	})
}

func skillsSearchAction(c *cli.Context) error {
	url, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if err := wantArgs(c, args, 0, 0); err != nil {
		return err
	}
	q := protocol.SkillQuery{Capability: c.String("capability"), Currency: c.String("currency"), Limit: c.Int("limit")}
	if c.IsSet("max-rate") {
		r := c.Float64("max-rate")
		q.MaxRate = &r
	}
	cl, err := dialNode(c, url, client.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := cl.SearchSkills(c.Context, q)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, res)
	}
	fmt.Fprintf(c.App.Writer, "Found %d skill(s):\n", res.Total)
	for _, raw := range res.Results {
		var s struct {
			AgentID     string   `json:"agent_id"`
			Capability  string   `json:"capability"`
			Rate        *float64 `json:"rate"`
			Currency    string   `json:"currency"`
			Description string   `json:"description"`
			Rating      *float64 `json:"skill_rating"`
		}
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		line := fmt.Sprintf("  %s %s", s.AgentID, s.Capability)
		if s.Rate != nil {
			line += fmt.Sprintf(" %s %s", protocol.FormatJSNumber(*s.Rate), s.Currency)
		}
		if s.Rating != nil {
			line += fmt.Sprintf(" (rating %s)", protocol.FormatJSNumber(*s.Rating))
		}
		if s.Description != "" {
			line += " — " + s.Description
		}
		fmt.Fprintln(c.App.Writer, line)
	}
	return nil
}
