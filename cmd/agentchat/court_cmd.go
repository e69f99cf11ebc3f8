package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/agent/client"
)

// courtCommand is agentchat court: the agentcourt operations of PROTOCOL.md
// §13, with the URL and identity conventions of propose. Each prints the
// node's answer as one JSON line; file prints the nonce, which reveal needs
// and only the disputant knows.
func courtCommand() *cli.Command {
	signed := func() []cli.Flag { return []cli.Flag{requiredIdentityFlag(), agentNameFlag()} }
	return &cli.Command{
		Name:  "court",
		Usage: "agentcourt: take a proposal to a panel of arbiters, or serve on one",
		Subcommands: []*cli.Command{
			{
				Name: "file", Usage: "file a dispute on an accepted proposal (prints the nonce to reveal)",
				ArgsUsage: "[URL] PROPOSAL_ID REASON", Flags: signed(),
				Action: func(c *cli.Context) error {
					return marketOp(c, 2, func(cl *client.Client, args []string) (any, error) {
						f, err := cl.FileDispute(c.Context, args[0], args[1])
						if err != nil {
							return nil, err
						}
						return map[string]any{"dispute_id": f.Ack.DisputeID, "proposal_id": f.Ack.ProposalID,
							"server_nonce": f.Ack.ServerNonce, "commitment": f.Commitment, "nonce": f.Nonce}, nil
					})
				},
			},
			{
				Name: "reveal", Usage: "reveal the dispute's nonce: the panel is drawn",
				ArgsUsage: "[URL] PROPOSAL_ID NONCE", Flags: signed(),
				Action: func(c *cli.Context) error {
					return marketOp(c, 2, func(cl *client.Client, args []string) (any, error) {
						return cl.RevealDispute(c.Context, args[0], args[1])
					})
				},
			},
			{
				Name: "evidence", Usage: "submit your evidence (once, during the evidence period)",
				ArgsUsage: "[URL] DISPUTE_ID",
				Flags: append(signed(),
					&cli.StringSliceFlag{Name: "item", Usage: "evidence `KIND:LABEL:VALUE` (repeatable; kind: commit, message_log, file, screenshot, attestation, other)"},
					&cli.StringFlag{Name: "statement", Aliases: []string{"s"}, Usage: "your account (at most 2000 characters)"}),
				Action: func(c *cli.Context) error {
					return marketOp(c, 1, func(cl *client.Client, args []string) (any, error) {
						items, err := evidenceItems(c.StringSlice("item"))
						if err != nil {
							return nil, err
						}
						return cl.SubmitEvidence(c.Context, args[0], items, c.String("statement"))
					})
				},
			},
			{
				Name: "accept", Usage: "accept a seat on a dispute's panel", ArgsUsage: "[URL] DISPUTE_ID", Flags: signed(),
				Action: func(c *cli.Context) error {
					return marketOp(c, 1, func(cl *client.Client, args []string) (any, error) {
						return seatResult(args[0], "accepted", cl.AcceptSeat(c.Context, args[0]))
					})
				},
			},
			{
				Name: "decline", Usage: "decline a seat on a dispute's panel (another arbiter is drawn)", ArgsUsage: "[URL] DISPUTE_ID",
				Flags: append(signed(), &cli.StringFlag{Name: "reason", Aliases: []string{"r"}, Usage: "why you decline"}),
				Action: func(c *cli.Context) error {
					return marketOp(c, 1, func(cl *client.Client, args []string) (any, error) {
						return seatResult(args[0], "declined", cl.DeclineSeat(c.Context, args[0], c.String("reason")))
					})
				},
			},
			{
				Name: "vote", Usage: "vote on a dispute you sit on", ArgsUsage: "[URL] DISPUTE_ID disputant|respondent|mutual",
				Flags: append(signed(), &cli.StringFlag{Name: "reasoning", Aliases: []string{"r"}, Usage: "your reasons (at most 500 characters)"}),
				Action: func(c *cli.Context) error {
					return marketOp(c, 2, func(cl *client.Client, args []string) (any, error) {
						return seatResult(args[0], "voted "+args[1], cl.Vote(c.Context, args[0], args[1], c.String("reasoning")))
					})
				},
			},
			{
				Name: "status", Usage: "show a case held by the node: phase, deadlines, seats, verdict", ArgsUsage: "[URL] DISPUTE_ID",
				Action: courtStatus,
			},
		},
	}
}

// evidenceItems parses --item values.
func evidenceItems(specs []string) ([]client.EvidenceItem, error) {
	items := []client.EvidenceItem{}
	for _, s := range specs {
		parts := strings.SplitN(s, ":", 3)
		if len(parts) != 3 || parts[0] == "" {
			return nil, fmt.Errorf("--item %q: want KIND:LABEL:VALUE", s)
		}
		items = append(items, client.EvidenceItem{Kind: parts[0], Label: parts[1], Value: parts[2]})
	}
	return items, nil
}

// seatResult is what accept, decline and vote print: the node sends no
// answer on success.
func seatResult(dispute, what string, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "dispute_id": dispute, "result": what}, nil
}

func courtStatus(c *cli.Context) error {
	node, args, err := nodeArgs(c)
	if err != nil {
		return err
	}
	if err := wantArgs(c, args, 1, 1); err != nil {
		return err
	}
	base, err := httpBase(node)
	if err != nil {
		return err
	}
	body, err := httpDo(c.Context, http.MethodGet, base+"/disputes/"+url.PathEscape(args[0]), nil)
	if err != nil {
		return err
	}
	return printJSON(c, json.RawMessage(body))
}
