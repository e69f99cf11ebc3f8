package supervisor

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// StaleAfter is how old a heartbeat may be before `status` says the
// supervisor is gone.
const StaleAfter = 10 * time.Second

// WriteTable prints agents as the table of `agentchat supervise status`.
func WriteTable(w io.Writer, agents []Agent, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tSTATUS\tPID\tRESTARTS\tBACKOFF\tHEARTBEAT\tLAST ERROR")
	for _, a := range agents {
		beat := "never"
		if !a.Heartbeat.IsZero() {
			age := now.Sub(a.Heartbeat).Round(time.Second)
			beat = age.String() + " ago"
			if age > StaleAfter && (a.Status == StatusRunning || a.Status == StatusStarting || a.Status == StatusCrashed) {
				beat += " (supervisor gone?)"
			}
		}
		pid := "-"
		if a.PID > 0 {
			pid = fmt.Sprint(a.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.AgentName, a.Status, pid, a.RestartCount,
			time.Duration(a.Backoff*float64(time.Second)).String(), beat, a.LastError)
	}
	return tw.Flush()
}
