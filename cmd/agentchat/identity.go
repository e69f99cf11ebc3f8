package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/identity"
)

// identityFileFlag is --identity/-i, as every other command takes it; the
// earlier --file/-f stays an alias.
func identityFileFlag() cli.Flag {
	return &cli.StringFlag{Name: "identity", Aliases: []string{"i", "file", "f"}, Value: identity.DefaultPath(),
		Usage: "identity `FILE`", EnvVars: env("IDENTITY")}
}

func identityCommand() *cli.Command {
	return &cli.Command{
		Name:  "identity",
		Usage: "create and inspect agent identities (Ed25519 keys)",
		Subcommands: []*cli.Command{
			{
				Name:  "new",
				Usage: "generate a new identity file",
				Flags: []cli.Flag{identityFileFlag(),
					&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "display name stored in the file"},
					&cli.BoolFlag{Name: "force", Usage: "overwrite an existing file"}},
				Action: identityNew,
			},
			{
				Name:   "show",
				Usage:  "print an identity's agent ID, public key and history",
				Flags:  []cli.Flag{identityFileFlag(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: identityShow,
			},
			{
				Name:   "rotate",
				Usage:  "replace the key, signing the change with the old key (then: identity publish)",
				Flags:  []cli.Flag{identityFileFlag()},
				Action: identityRotate,
			},
			{
				Name:  "revoke",
				Usage: "print a revocation notice for the current key (then: identity publish NOTICE.json)",
				Flags: []cli.Flag{identityFileFlag(),
					&cli.StringFlag{Name: "reason", Value: "revoked", Usage: "reason stated in the notice"}},
				Action: identityRevoke,
			},
			{
				Name:      "verify",
				Usage:     "check an identity's rotation chain, or a revocation notice",
				ArgsUsage: "[REVOCATION.json]",
				Flags:     []cli.Flag{identityFileFlag()},
				Action:    identityVerify,
			},
			identityPublishCommand(),
		},
	}
}

func identityNew(c *cli.Context) error {
	path := c.String("identity")
	if _, err := os.Stat(path); err == nil && !c.Bool("force") {
		return fmt.Errorf("%s already exists (use --force to replace it)", path)
	}
	f, err := identity.New(c.String("name"))
	if err != nil {
		return err
	}
	if err := f.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "created %s\nagent id: @%s\n", path, f.AgentID)
	return nil
}

func identityShow(c *cli.Context) error {
	f, err := identity.LoadFile(c.String("identity"))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		out := map[string]any{"agent_id": "@" + f.AgentID, "public_key": f.PublicKey, "name": f.Name,
			"created": f.Created, "rotations": len(f.Rotations),
			"original_agent_id": "@" + identity.OriginalAgentID(f.Rotations, f.PublicKey)}
		return json.NewEncoder(c.App.Writer).Encode(out)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "agent id:  @%s\n", f.AgentID)
	if f.Name != "" {
		fmt.Fprintf(w, "name:      %s\n", f.Name)
	}
	if f.Created != "" {
		fmt.Fprintf(w, "created:   %s\n", f.Created)
	}
	if len(f.Rotations) > 0 {
		fmt.Fprintf(w, "rotations: %d (original id @%s)\n", len(f.Rotations), identity.OriginalAgentID(f.Rotations, f.PublicKey))
	}
	fmt.Fprintf(w, "private key: %v\n%s", f.PrivateKey != "", f.PublicKey)
	return nil
}

func identityRotate(c *cli.Context) error {
	path := c.String("identity")
	f, err := identity.LoadFile(path)
	if err != nil {
		return err
	}
	next, err := f.Rotate(time.Now())
	if err != nil {
		return err
	}
	if err := next.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "rotated: @%s -> @%s\n", f.AgentID, next.AgentID)
	return nil
}

func identityRevoke(c *cli.Context) error {
	f, err := identity.LoadFile(c.String("identity"))
	if err != nil {
		return err
	}
	r, err := f.Revoke(c.String("reason"), time.Now())
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func identityVerify(c *cli.Context) error {
	if c.Args().Len() > 0 {
		data, err := os.ReadFile(c.Args().First())
		if err != nil {
			return err
		}
		var r identity.Revocation
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("read revocation notice: %w", err)
		}
		if err := identity.VerifyRevocation(&r); err != nil {
			return fmt.Errorf("revocation notice is NOT valid: %w", err)
		}
		fmt.Fprintf(c.App.Writer, "valid revocation of @%s (%s) at %s\n", r.AgentID, r.Reason, r.Timestamp)
		return nil
	}
	f, err := identity.LoadFile(c.String("identity"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no identity at %s (create one with: agentchat identity new)", c.String("identity"))
	}
	if err != nil {
		return err
	}
	if err := identity.VerifyChain(f.Rotations, f.PublicKey); err != nil {
		return fmt.Errorf("rotation chain is NOT valid: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "valid: @%s, %d rotation(s), original id @%s\n", f.AgentID, len(f.Rotations), identity.OriginalAgentID(f.Rotations, f.PublicKey))
	return nil
}
