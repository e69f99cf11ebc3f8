//go:build !race

package p2p

// raceEnabled lets the heaviest tests shrink under the race detector.
const raceEnabled = false
