package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
)

// bansHelp is said by `node --help` and `ban --help`.
const bansHelp = `Bans are per node by design: ADMIN_BAN (and the banlist) bind only the node
that made them. An operator can also sign a ban record ("agentchat ban sign")
and publish it on the mesh ("agentchat ban publish"); every node stores and
relays it, but only nodes started with --honor-bans-from <that operator's key>
enforce it, like a local ban (a node always honours records signed by its own
node key). Other nodes ignore it.`

func banCommand() *cli.Command {
	node := &cli.StringFlag{Name: "node", Usage: "a running node's ws:// or http:// `URL`", Required: true}
	return &cli.Command{
		Name:        "ban",
		Usage:       "sign, publish and list operator ban records (honoured by nodes that opt in)",
		Description: bansHelp,
		Subcommands: []*cli.Command{
			{
				Name:      "sign",
				Usage:     "print a ban record for an agent, signed by an operator identity or a stopped node's key",
				ArgsUsage: "@AGENT_ID",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "operator identity `FILE` that signs"},
					&cli.StringFlag{Name: "data-dir", Usage: "sign with the node key of this stopped node's data `DIR` instead"},
					&cli.StringFlag{Name: "reason", Usage: "reason the banned agent is told"},
					&cli.BoolFlag{Name: "lift", Usage: "lift the operator's earlier ban instead"},
				},
				Action: banSign,
			},
			{
				Name:      "publish",
				Usage:     "publish a signed ban record on the mesh through a node",
				ArgsUsage: "RECORD.json",
				Flags:     []cli.Flag{node},
				Action:    banPublish,
			},
			{
				Name:   "list",
				Usage:  "list the ban records a node holds and whether it enforces them",
				Flags:  []cli.Flag{node},
				Action: banList,
			},
		},
	}
}

func banSign(c *cli.Context) error {
	args, err := commandArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("usage: agentchat ban sign (-i OPERATOR.json | --data-dir DIR) @AGENT_ID")
	}
	if (c.String("identity") == "") == (c.String("data-dir") == "") {
		return fmt.Errorf("give exactly one of -i OPERATOR.json or --data-dir DIR (the key that signs)")
	}
	var priv ed25519.PrivateKey
	if path := c.String("identity"); path != "" {
		f, err := identity.LoadFile(path)
		if err != nil {
			return err
		}
		if priv = f.Private(); priv == nil {
			return fmt.Errorf("%s: %w", path, identity.ErrNoPrivateKey)
		}
	} else {
		dd, err := node.OpenDataDir(c.Context, c.String("data-dir"))
		if err != nil {
			return err
		}
		priv = dd.Key
		dd.Close()
	}
	b, err := identity.SignBan(priv, args[0], c.String("reason"), c.Bool("lift"), time.Now())
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(append(b.Encode(), '\n'))
	return err
}

func banPublish(c *cli.Context) error {
	args, err := commandArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("usage: agentchat ban publish --node URL RECORD.json")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	data = bytes.TrimSpace(data)
	if _, err := identity.DecodeBan(data); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	base, err := httpBase(c.String("node"))
	if err != nil {
		return err
	}
	out, err := httpDo(c.Context, http.MethodPost, base+"/bans", data)
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(append(bytes.TrimSpace(out), '\n'))
	return err
}

func banList(c *cli.Context) error {
	base, err := httpBase(c.String("node"))
	if err != nil {
		return err
	}
	out, err := httpDo(c.Context, http.MethodGet, base+"/bans", nil)
	if err != nil {
		return err
	}
	var recs []node.BanRecord
	if err := json.Unmarshal(out, &recs); err != nil {
		return fmt.Errorf("ban list: the node's answer is not a list: %w", err)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tOPERATOR\tACTION\tENFORCED HERE\tREASON")
	for _, r := range recs {
		action := "ban"
		if r.Lift {
			action = "lift"
		}
		fmt.Fprintf(tw, "@%s\t%.16s…\t%s\t%v\t%s\n", r.AgentID, r.Operator, action, r.Honoured, r.Reason)
	}
	return tw.Flush()
}

// operatorKeys reads --honor-bans-from values: 64 hex characters of a raw
// Ed25519 key, or a file holding an identity (its public key) or a PEM
// public key.
func operatorKeys(values []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, v := range values {
		k, err := operatorKey(v)
		if err != nil {
			return nil, fmt.Errorf("--honor-bans-from %q: %w", v, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func operatorKey(v string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(v)
	if errors.Is(err, fs.ErrNotExist) {
		return identity.ParseOperatorKey(v) // not a file: the key itself
	}
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
		f, err := identity.LoadFile(v)
		if err != nil {
			return nil, err
		}
		return identity.ParsePublicPEM(f.PublicKey)
	}
	return identity.ParseOperatorKey(string(data))
}
