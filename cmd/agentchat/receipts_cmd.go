package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/node"
)

func receiptsCommand() *cli.Command {
	source := []cli.Flag{
		&cli.StringFlag{Name: "node", Usage: "a running node's ws:// or http:// `URL`"},
		&cli.StringFlag{Name: "data-dir", Usage: "a stopped node's data `DIR`"},
	}
	return &cli.Command{
		Name:  "receipts",
		Usage: "export, verify and import signed receipts (portable reputation)",
		Subcommands: []*cli.Command{
			{
				Name:      "export",
				Usage:     "write a bundle of receipts with inclusion proofs to stdout",
				ArgsUsage: " ",
				Flags:     append([]cli.Flag{&cli.StringFlag{Name: "agent", Usage: "only receipts of this agent (`@id`)"}}, source...),
				Action:    receiptsExport,
			},
			{
				Name:      "verify",
				Usage:     "check every signature and inclusion proof, refold ratings, print a table",
				ArgsUsage: "BUNDLE.json...",
				Action:    receiptsVerify,
			},
			{
				Name:      "import",
				Usage:     "teach a node the verified receipts of a bundle",
				ArgsUsage: "BUNDLE.json",
				Flags:     source,
				Action:    receiptsImport,
			},
		},
	}
}

// httpBase turns a node's ws:// or http:// URL into its HTTP base.
func httpBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("--node: %q is not a URL", raw)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("--node: unsupported scheme %q", u.Scheme)
	}
	u.Path, u.RawQuery = "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

// openStore opens a stopped node's receipt store; close when done.
func openStore(ctx context.Context, dir string) (*ledger.Store, func(), error) {
	dd, err := node.OpenDataDir(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	s, err := ledger.OpenStore(ctx, ledger.StoreConfig{Datastore: dd.Store, NodeKey: dd.Key})
	if err != nil {
		dd.Close()
		return nil, nil, err
	}
	return s, func() { dd.Close() }, nil
}

func oneSource(c *cli.Context) error {
	if (c.String("node") == "") == (c.String("data-dir") == "") {
		return fmt.Errorf("give exactly one of --node URL or --data-dir DIR")
	}
	return nil
}

func receiptsExport(c *cli.Context) error {
	if _, err := commandArgs(c); err != nil {
		return err
	}
	if err := oneSource(c); err != nil {
		return err
	}
	agent := strings.TrimPrefix(c.String("agent"), "@")
	if c.String("node") != "" {
		base, err := httpBase(c.String("node"))
		if err != nil {
			return err
		}
		target := base + "/receipts"
		if agent != "" {
			target += "?agent=" + url.QueryEscape(agent)
		}
		body, err := httpDo(c.Context, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		_, err = c.App.Writer.Write(append(bytes.TrimSpace(body), '\n'))
		return err
	}
	store, done, err := openStore(c.Context, c.String("data-dir"))
	if err != nil {
		return err
	}
	defer done()
	if agent != "" {
		agent = "@" + agent
	}
	b, err := store.Export(c.Context, agent, nil)
	if err != nil {
		return err
	}
	if agent != "" && len(b.Entries) == 0 {
		return fmt.Errorf("no receipts of %s in %s", agent, c.String("data-dir"))
	}
	data, err := b.Encode()
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(append(data, '\n'))
	return err
}

func httpDo(ctx context.Context, method, target string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("%s %s: %s: %s", method, target, resp.Status, bytes.TrimSpace(out))
	}
	return out, nil
}

// readBundles decodes every file and merges them into one bundle, so
// duplicates across files are found and the fold sees the union.
func readBundles(paths []string) (*ledger.Bundle, error) {
	merged := &ledger.Bundle{Version: ledger.ReceiptVersion}
	seen := map[string]bool{} // identity records already merged
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		b, err := ledger.DecodeBundle(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		merged.Checkpoints = append(merged.Checkpoints, b.Checkpoints...)
		merged.Entries = append(merged.Entries, b.Entries...)
		for _, rec := range b.Identities {
			if !seen[rec.ID()] {
				seen[rec.ID()] = true
				merged.Identities = append(merged.Identities, rec)
			}
		}
	}
	return merged, nil
}

func receiptsVerify(c *cli.Context) error {
	args, err := commandArgs(c)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("usage: agentchat receipts verify BUNDLE.json...")
	}
	b, err := readBundles(args)
	if err != nil {
		return err
	}
	rep, _ := ledger.VerifyBundle(b)
	printReport(c.App.Writer, rep)
	return badReport(rep)
}

// unratedText explains each reason a receipt changed no rating.
var unratedText = map[string]string{
	ledger.UnratedCooldown:  "completions within an hour of the pair's last rated one (pair cooldown, PROTOCOL.md §12.1)",
	ledger.UnratedRevoked:   "settled at or after the revocation of a party's key",
	ledger.UnratedSameAgent: "both parties are one agent (one key under two IDs, or keys of one rotation chain)",
}

// printReport prints the per-agent table and every bad entry with its reason.
func printReport(w io.Writer, rep ledger.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tRATING\tTRANSACTIONS\tSETTLED")
	for _, r := range rep.Ratings {
		fmt.Fprintf(tw, "%s\t%g\t%d\t%d\n", r.Agent, r.Rating.Rating, r.Transactions, r.Settled)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d entries, %d receipts verified, %d duplicates\n", rep.Entries, rep.Receipts, rep.Duplicates)
	if rep.Unrated > 0 {
		fmt.Fprintf(w, "%d receipts changed no rating; TRANSACTIONS counts rated receipts, SETTLED all:\n", rep.Unrated)
		for _, why := range []string{ledger.UnratedCooldown, ledger.UnratedRevoked, ledger.UnratedSameAgent} {
			if n := rep.UnratedBy[why]; n > 0 {
				fmt.Fprintf(w, "  %d %s: %s\n", n, why, unratedText[why])
			}
		}
	}
	for _, bi := range rep.BadIdentities {
		fmt.Fprintf(w, "BAD identity record %d: %s\n", bi.Identity, bi.Reason)
	}
	for _, bc := range rep.BadCheckpoints {
		fmt.Fprintf(w, "BAD checkpoint %d (node %s): %s\n", bc.Checkpoint, bc.NodePubkey, bc.Reason)
	}
	for _, be := range rep.Bad {
		fmt.Fprintf(w, "BAD receipt %s (entry %d): %s\n", be.ProposalID, be.Entry, be.Reason)
	}
}

func receiptsImport(c *cli.Context) error {
	args, err := commandArgs(c) // flags may follow the file
	if err != nil {
		return err
	}
	if err := oneSource(c); err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("usage: agentchat receipts import BUNDLE.json (--node URL | --data-dir DIR)")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var rep ledger.Report
	if c.String("node") != "" {
		base, err := httpBase(c.String("node"))
		if err != nil {
			return err
		}
		out, err := httpDo(c.Context, http.MethodPost, base+"/receipts", data)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			return fmt.Errorf("import: the node's answer is not a report: %w", err)
		}
	} else {
		b, err := ledger.DecodeBundle(data)
		if err != nil {
			return err
		}
		store, done, err := openStore(c.Context, c.String("data-dir"))
		if err != nil {
			return err
		}
		defer done()
		rep, err = store.Import(c.Context, b)
		if err != nil && !errors.Is(err, ledger.ErrBadBundle) {
			printReport(c.App.Writer, rep)
			return err
		}
	}
	printReport(c.App.Writer, rep)
	return badReport(rep)
}

// badReport is the exit of verify and import: nil when every receipt and
// checkpoint verified, else exit status 1 with the counts (printReport has
// named each bad receipt and why).
func badReport(rep ledger.Report) error {
	if rep.OK() {
		return nil
	}
	return cli.Exit(fmt.Sprintf("%d bad receipt(s), %d bad checkpoint(s), %d bad identity record(s)",
		len(rep.Bad), len(rep.BadCheckpoints), len(rep.BadIdentities)), 1)
}
