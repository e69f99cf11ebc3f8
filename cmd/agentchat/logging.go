package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"
)

func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json", EnvVars: []string{"AGENTCHAT_LOG_FORMAT"}},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn or error", EnvVars: []string{"AGENTCHAT_LOG_LEVEL"}},
	}
}

// newLogger builds the process logger from the global flags; logs go to
// stderr so stdout stays for command output.
func newLogger(c *cli.Context) (*slog.Logger, error) {
	log, _, err := newLevelLogger(c)
	return log, err
}

// newLevelLogger is newLogger with the level kept in a LevelVar, so a
// running node can change it (SIGHUP).
func newLevelLogger(c *cli.Context) (*slog.Logger, *slog.LevelVar, error) {
	level := new(slog.LevelVar)
	if err := setLevel(level, c.String("log-level")); err != nil {
		return nil, nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log-format") {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), level, nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), level, nil
	}
	return nil, nil, fmt.Errorf("--log-format must be text or json, not %q", c.String("log-format"))
}

// setLevel parses a --log-level value into v.
func setLevel(v *slog.LevelVar, text string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(text)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	v.Set(level)
	return nil
}
