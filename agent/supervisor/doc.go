// Package supervisor keeps agents running (`agentchat supervise`): it
// starts one runner process (`agentchat run`, agent/runner) per agent of
// its config, watches it, and restarts it with backoff when it ends, as the
// original's agent-supervisor.sh did (PROTOCOL.md §23).
//
// Each agent has a state directory, ~/.agentchat/agents/<name>/, shared
// with its runner: the supervisor writes agent.json (the runner's spec),
// state.json (§23's fields and statuses), supervisor.log, runner.log (the
// runner's output; both rotated past Config.MaxLogSize), supervisor.pid
// (agent/daemon's flock pid lock, taken before anything is written) and
// .heartbeat (touched while it watches); creating a file named stop there
// stops the agent. The runner writes its transcript and session.json
// there, which the supervisor reads to say why a session ended, and holds
// runner.pid, by which the supervisor finds and stops a runner an earlier
// supervisor left before it starts its own.
//
// Each runner leads its own process group, which stop signals reach and
// which is killed when the runner exits, and on Linux gets SIGTERM when
// the supervisor dies. In container mode the container is removed before
// the first start and after every run.
//
// It sits beside the data path, above it: supervisor -> runner process ->
// agent/mcp -> agent/client -> node. It imports protocol, identity and
// agent/* (agent/runner for the spec and state files), never the node side.
//
// # Goroutines
//
// Run starts one goroutine per agent and waits for all of them; each waits
// for its runner process before it returns.
package supervisor
