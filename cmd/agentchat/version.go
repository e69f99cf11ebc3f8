package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// buildInfo is what `agentchat version` reports.
type buildInfo struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Libp2p   string `json:"libp2p"`
	Pubsub   string `json:"gossipsub"`
	Revision string `json:"vcs_revision"`
	Time     string `json:"vcs_time"`
	Modified bool   `json:"vcs_modified"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

// readBuildInfo reads the module versions and VCS stamp the Go toolchain
// embedded in the binary ("unknown" where the build did not record them,
// e.g. with -buildvcs=false or under go test).
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Go: runtime.Version(), Libp2p: "unknown", Pubsub: "unknown",
		Revision: "unknown", Time: "unknown", OS: runtime.GOOS, Arch: runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		switch d.Path {
		case "github.com/libp2p/go-libp2p":
			b.Libp2p = d.Version
		case "github.com/libp2p/go-libp2p-pubsub":
			b.Pubsub = d.Version
		}
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the Go and libp2p versions and the VCS revision of this binary",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print one JSON object"}},
		Action: func(c *cli.Context) error {
			b := readBuildInfo()
			w := c.App.Writer
			if c.Bool("json") {
				return json.NewEncoder(w).Encode(b)
			}
			rev := b.Revision
			if b.Modified {
				rev += " (modified)"
			}
			_, err := fmt.Fprintf(w, "agentchat %s\ngo         %s %s/%s\nlibp2p     %s\ngossipsub  %s\nrevision   %s\ncommitted  %s\n",
				b.Version, b.Go, b.OS, b.Arch, b.Libp2p, b.Pubsub, rev, b.Time)
			return err
		},
	}
}
