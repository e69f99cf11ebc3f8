package mcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentchat/mesh/agent/transfer"
)

// The file tools of PROTOCOL.md §22 over agent/transfer (§21): offers sent
// to the agent are kept by the connection's transfer.Receiver until the
// agent receives them (or they expire after 30 minutes).

type fileReceiveArgs struct {
	TransferID    string `json:"transfer_id" jsonschema:"the transfer ID of an offer (see agentchat_file_list_offers)"`
	SaveDirectory string `json:"save_directory,omitempty" jsonschema:"directory to save the files in (default <temp>/agentchat-files/<transfer_id>)"`
}

func (s *Server) registerFileTools() {
	addTool(s, "agentchat_file_list_offers", "List the file transfers other agents offered you; receive one with agentchat_file_receive.", s.fileListOffers)
	addTool(s, "agentchat_file_receive", "Accept a file transfer and wait (up to 120 s) until its files are verified and saved; returns their paths.", s.fileReceive)
}

func (s *Server) fileListOffers(ctx context.Context, _ struct{}) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	offers := []map[string]any{}
	for _, o := range c.files.Offers() {
		nick := o.SenderNick
		if nick == "" {
			nick = cmp.Or(o.FromName, o.From)
		}
		offers = append(offers, map[string]any{
			"transfer_id": o.TID,
			"from":        o.From,
			"from_nick":   nick,
			"files":       nonNil(o.Files),
			"total_size":  humanSize(o.TotalSize),
			"chunks":      o.Chunks,
			"age_seconds": int64(time.Since(o.Received).Round(time.Second).Seconds()),
		})
	}
	return map[string]any{"offers": offers, "count": len(offers)}, nil
}

func (s *Server) fileReceive(ctx context.Context, a fileReceiveArgs) (any, error) {
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	dir := a.SaveDirectory
	switch {
	case dir == "":
		dir = filepath.Join(os.TempDir(), "agentchat-files", safeName(a.TransferID))
	case slices.Contains(strings.Split(filepath.ToSlash(dir), "/"), ".."):
		return nil, errors.New("save_directory may not contain ..")
	}
	var size int64
	for _, o := range c.files.Offers() {
		if o.TID == a.TransferID {
			size = o.TotalSize
		}
	}
	res, err := c.files.Accept(ctx, a.TransferID, dir)
	if errors.Is(err, transfer.ErrUnknownOffer) {
		return nil, fmt.Errorf("no pending offer with ID %q; use agentchat_file_list_offers to see the offers", a.TransferID)
	}
	if err != nil {
		return nil, fmt.Errorf("transfer failed: %w", err)
	}
	files := []map[string]any{}
	for _, f := range res.Files {
		files = append(files, map[string]any{"name": f.Name, "path": f.Path, "size": f.Size})
	}
	if size == 0 {
		size = res.Size
	}
	return map[string]any{"success": true, "verified": true, "save_directory": res.Dir, "files": files,
		"total_size": humanSize(size), "hash_match": true}, nil
}

// humanSize formats a byte count as the original tools do: "<n> B", else
// one decimal and " KB" below 1 MiB, else " MB".
func humanSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KB"
	default:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	}
}

// safeName keeps the [A-Za-z0-9_-] of a transfer ID, for a directory name.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return -1
	}, s)
	return cmp.Or(s, "transfer")
}
