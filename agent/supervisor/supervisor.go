package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/agentchat/mesh/agent/runner"
)

// Supervisor keeps the agents of its Config running. Create it with New
// and run it with Run.
type Supervisor struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg (a container runtime must be installed) and returns a
// Supervisor. It starts nothing.
func New(cfg Config) (*Supervisor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Supervisor{cfg: cfg, log: cfg.Logger.With("component", "supervisor")}, nil
}

// Run supervises every agent until ctx ends, then stops their runners
// (SIGTERM, then SIGKILL after the grace period) and returns. An agent that
// is stopped (its stop file), fatal or failed is not restarted; Run
// returns when none is left running.
//
// An agent whose state directory cannot be prepared is not started (and
// logged); Run fails when that leaves none.
func (s *Supervisor) Run(ctx context.Context) error {
	var (
		wg   sync.WaitGroup
		errs []error
	)
	for _, spec := range s.cfg.Agents {
		a, err := s.newAgent(spec)
		if err != nil {
			s.log.Error("agent not started", "agent", spec.Name, "err", err)
			errs = append(errs, fmt.Errorf("agent %s: %w", spec.Name, err))
			continue
		}
		wg.Go(func() { a.run(ctx) })
	}
	wg.Wait()
	if len(errs) == len(s.cfg.Agents) {
		return errors.Join(errs...)
	}
	return nil
}

// stateDir is an agent's state directory.
func (s *Supervisor) stateDir(spec runner.Spec) string {
	if spec.StateDir != "" {
		return spec.StateDir
	}
	return runner.AgentDir(s.cfg.Home, spec.Name)
}
