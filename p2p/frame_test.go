package p2p

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadFrameAllocatesWhatArrives: a frame header that claims far more
// than the peer sends costs what was sent, not what was claimed.
func TestReadFrameAllocatesWhatArrives(t *testing.T) {
	const claimed = 256 << 20
	in := binary.AppendUvarint(nil, claimed)
	in = append(in, "only this"...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readFrame(bufio.NewReader(bytes.NewReader(in)), claimed)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(claimed/8))

	frame, err := readFrame(bufio.NewReader(bytes.NewReader(append(binary.AppendUvarint(nil, 3), "abcd"...))), 3)
	require.NoError(t, err)
	require.Equal(t, "abc", string(frame))
}
