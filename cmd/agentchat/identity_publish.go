package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
)

// identityPublishCommand is how the mesh learns of a rotation or a
// revocation: the records are posted to one node (POST /identities), which
// verifies, stores and gossips them, and every node then folds the agent's
// receipts under its current key and refuses revoked keys.
func identityPublishCommand() *cli.Command {
	return &cli.Command{
		Name: "publish",
		Usage: "send the identity's rotation chain, or a revocation notice, to a node; " +
			"the node spreads it over the mesh (run after rotate and revoke)",
		ArgsUsage: "[REVOCATION.json]",
		Flags: []cli.Flag{identityFileFlag(),
			&cli.StringFlag{Name: "node", Usage: "a running node's ws:// or http:// `URL` (required)"}},
		Action: identityPublish,
	}
}

func identityPublish(c *cli.Context) error {
	args, err := commandArgs(c) // flags may follow the file
	if err != nil {
		return err
	}
	if c.String("node") == "" {
		return fmt.Errorf("give the node to publish to: --node URL")
	}
	base, err := httpBase(c.String("node"))
	if err != nil {
		return err
	}
	var recs []ledger.IdentityRecord
	switch len(args) {
	case 0:
		if recs, err = rotationRecords(c); err != nil {
			return err
		}
	case 1:
		data, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		var r identity.Revocation
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("read revocation notice %s: %w", args[0], err)
		}
		recs = append(recs, ledger.IdentityRecord{Revocation: &r})
	default:
		return fmt.Errorf("usage: agentchat identity publish [REVOCATION.json] --node URL")
	}
	for _, rec := range recs {
		if err := rec.Verify(); err != nil {
			return err
		}
		if _, err := httpDo(c.Context, http.MethodPost, base+"/identities", rec.Encode()); err != nil {
			return err
		}
		if rec.Rotation != nil {
			fmt.Fprintf(c.App.Writer, "published rotation @%s -> @%s\n", rec.Rotation.OldAgentID, rec.Rotation.NewAgentID)
		} else {
			fmt.Fprintf(c.App.Writer, "published revocation of @%s (%s)\n", rec.Revocation.AgentID, rec.Revocation.Reason)
		}
	}
	return nil
}

// rotationRecords are the identity file's rotations the mesh can link: a
// rotation must be countersigned by its new key (new_signature). A file
// rotated by a version that did not countersign lacks it; the current key
// countersigns the last rotation here (the file is saved with it), and an
// earlier one, whose new key is gone, is skipped with a warning.
func rotationRecords(c *cli.Context) ([]ledger.IdentityRecord, error) {
	path := c.String("identity")
	f, err := identity.LoadFile(path)
	if err != nil {
		return nil, err
	}
	if len(f.Rotations) == 0 {
		return nil, fmt.Errorf("identity @%s never rotated: nothing to publish (a revocation is published as: agentchat identity publish REVOCATION.json)", f.AgentID)
	}
	if last := &f.Rotations[len(f.Rotations)-1]; last.NewSignature == "" {
		if err := f.Countersign(last); err != nil {
			return nil, err
		}
		if err := f.Save(path); err != nil {
			return nil, err
		}
		fmt.Fprintf(c.App.Writer, "countersigned rotation @%s -> @%s with the current key (saved in %s)\n",
			last.OldAgentID, last.NewAgentID, path)
	}
	var recs []ledger.IdentityRecord
	for i := range f.Rotations {
		r := &f.Rotations[i]
		if r.NewSignature == "" {
			fmt.Fprintf(c.App.ErrWriter, "warning: rotation @%s -> @%s is not countersigned and its new key is no longer held: "+
				"not published, so the mesh does not link those two keys\n", r.OldAgentID, r.NewAgentID)
			continue
		}
		recs = append(recs, ledger.IdentityRecord{Rotation: r})
	}
	return recs, nil
}
