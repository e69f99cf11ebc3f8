package main

import (
	"os"
	"testing"
)

// childEnv, set to "1", makes the test binary run the agentchat command
// line instead of the tests: the supervisor tests start it (os.Executable)
// as their `agentchat run` processes.
const childEnv = "AGENTCHAT_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	removeTestBinary()
	os.Exit(code)
}
