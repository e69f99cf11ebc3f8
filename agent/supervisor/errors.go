package supervisor

import "errors"

var (
	// ErrConfig means the supervisor's config is unusable.
	ErrConfig = errors.New("supervisor config")
	// ErrBusy means another live supervisor holds the agent (its
	// supervisor.pid).
	ErrBusy = errors.New("agent busy")
	// ErrNoRuntime means the container CLI (docker or podman) is not
	// installed.
	ErrNoRuntime = errors.New("container runtime not found")
)
