package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"
)

// The node's config file (--config node.toml) holds flag values by flag
// name: `listen = "0.0.0.0:6667"`, `peer = ["/ip4/…"]`, `park-after =
// "2s"`, `allowlist = true`, plus the global log-level and log-format.
// A flag given on the command line or in the environment wins over the
// file. An unknown name or a value of the wrong kind is an error, so a typo
// never passes silently.

// errConfig marks errors in the config file.
var errConfig = errors.New("config file")

// readConfigFile parses path into settings by flag name.
func readConfigFile(path string) (map[string]any, error) {
	var m map[string]any
	_, err := toml.DecodeFile(path, &m)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", errConfig, path, err)
	}
	for k, v := range m {
		if _, ok := v.(map[string]any); ok {
			return nil, fmt.Errorf("%w %s: %q is a table; settings are top-level flag names", errConfig, path, k)
		}
	}
	return m, nil
}

// applyConfigFile sets every flag named in the file that the command line
// and the environment left unset. It returns the names it set.
func applyConfigFile(c *cli.Context, path string) ([]string, error) {
	m, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	flags := map[string]cli.Flag{}
	for _, cc := range c.Lineage() {
		if cc.Command != nil {
			for _, f := range cc.Command.Flags {
				flags[f.Names()[0]] = f
			}
		}
		if cc.App != nil {
			for _, f := range cc.App.Flags {
				flags[f.Names()[0]] = f
			}
		}
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var set []string
	for _, name := range names {
		f, ok := flags[name]
		if !ok || name == "config" {
			return nil, fmt.Errorf("%w %s: unknown setting %q", errConfig, path, name)
		}
		if c.IsSet(name) {
			continue // the command line or the environment wins
		}
		values, err := flagValues(f, m[name])
		if err != nil {
			return nil, fmt.Errorf("%w %s: %s: %w", errConfig, path, name, err)
		}
		for _, v := range values {
			if err := c.Set(name, v); err != nil {
				return nil, fmt.Errorf("%w %s: %s: %w", errConfig, path, name, err)
			}
		}
		set = append(set, name)
	}
	return set, nil
}

// flagValues renders a TOML value as the strings f's Set accepts: one per
// element for a repeatable flag.
func flagValues(f cli.Flag, v any) ([]string, error) {
	switch f.(type) {
	case *cli.StringSliceFlag:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
		return stringList(v)
	case *cli.StringFlag:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
		list, err := stringList(v) // channels = ["#general", "#agents"]
		if err != nil {
			return nil, fmt.Errorf("want a string or a list of strings: %w", err)
		}
		return []string{strings.Join(list, ",")}, nil
	case *cli.BoolFlag:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, not %T", v)
		}
		return []string{strconv.FormatBool(b)}, nil
	case *cli.IntFlag, *cli.Int64Flag:
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("want an integer, not %T", v)
		}
		return []string{strconv.FormatInt(n, 10)}, nil
	case *cli.DurationFlag:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a duration such as \"30s\", not %T", v)
		}
		if _, err := time.ParseDuration(s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	return nil, fmt.Errorf("flag kind %T cannot be set from a file", f)
}

// stringList converts a TOML array of strings.
func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list of strings, not %T", v)
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("want a list of strings, element %d is %T", i, e)
		}
		out[i] = s
	}
	return out, nil
}
