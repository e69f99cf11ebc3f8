package transfer

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// vectorFiles is a text file, a binary file (NUL first) and a text file in
// a subdirectory whose size, 1280 bytes = 1.25 KB, shows JavaScript's
// half-up toFixed rounding.
var vectorFiles = []File{
	{Name: "hello.txt", Data: []byte("hello\nworld\n")},
	{Name: "data.bin", Data: func() []byte {
		b := make([]byte, 100)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}()},
	{Name: "dir/long-name.md", Data: append(bytes.Repeat([]byte("a"), 1279), '\n')},
}

// vectorArchive was computed independently, by a line-for-line port of the
// dashboard packer (PROTOCOL.md §21.3) with the same created time.
var vectorArchive = strings.Join([]string{
	"# --- SLURP v4 ---",
	"#",
	"# name: transfer",
	"# files: 3",
	"# total: 1.4 KB",
	"# created: 2025-01-02T03:04:05.678Z",
	"#",
	"# MANIFEST:",
	"#   hello.txt               12 B  sha256:4a1e67f2fe1d1cc7",
	"#   data.bin               100 B  sha256:bce0aff19cf5aa6a  [binary]",
	"#   dir/long-name.md      1.3 KB  sha256:3efed6424fb86ee7",
	"#",
	"",
	"=== hello.txt ===",
	"hello\nworld",
	"=== END hello.txt ===",
	"",
	"=== data.bin [binary] ===",
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4",
	"OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==",
	"=== END data.bin ===",
	"",
	"=== dir/long-name.md ===",
	strings.Repeat("a", 1279),
	"=== END dir/long-name.md ===",
	"",
}, "\n")

// vectorSHA256 is the SHA-256 of vectorArchive's bytes (the offer's sha256).
const vectorSHA256 = "1af2f6a7e01080f83cceab6a259ac027a25e921dfa206f12b80694741efa5690"

var vectorTime = time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

func TestPackVector(t *testing.T) {
	got := packAt(vectorFiles, vectorTime)
	require.Equal(t, strings.Split(vectorArchive, "\n"), strings.Split(got, "\n"))
	require.Equal(t, vectorArchive, got)
	require.Equal(t, vectorSHA256, archiveSHA256(got))

	// Pack stamps the current time; every other line is the same.
	now := strings.Split(Pack(vectorFiles), "\n")
	want := strings.Split(vectorArchive, "\n")
	require.Len(t, now, len(want))
	for i := range want {
		if i == 5 {
			require.Regexp(t, `^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, now[i])
			continue
		}
		require.Equal(t, want[i], now[i], "line %d", i+1)
	}
}

func TestPackNoFiles(t *testing.T) {
	require.Equal(t, "# --- SLURP v4 ---\n#\n# name: transfer\n# files: 0\n# total: 0 B\n# created: 2025-01-02T03:04:05.678Z\n#\n",
		packAt(nil, vectorTime), "the MANIFEST block is omitted")
	files, err := Unpack(packAt(nil, vectorTime))
	require.NoError(t, err)
	require.Empty(t, files)
}

func TestPackManifestWidthAndBinaryLines(t *testing.T) {
	data := bytes.Repeat([]byte{0, 1, 2, 255}, 100) // 400 bytes → 536 base64 chars
	got := packAt([]File{{Name: "a", Data: data}, {Name: "é", Data: []byte("x\n")}}, vectorTime)
	lines := strings.Split(got, "\n")
	// W = max(4, longest name): the names are padded to 4 UTF-16 units.
	require.Equal(t, "#   a   "+"  "+"     400 B"+"  sha256:"+sha16(data)+"  [binary]", lines[8])
	require.Equal(t, "#   é   "+"  "+"       2 B"+"  sha256:"+sha16([]byte("x\n")), lines[9])
	var body []string
	for i := 13; lines[i] != "=== END a ==="; i++ {
		body = append(body, lines[i])
	}
	require.Len(t, body, 8, "536 base64 characters in lines of 76")
	for _, l := range body[:7] {
		require.Len(t, l, 76)
	}
	require.Len(t, body[7], 536-7*76)
}

func sha16(b []byte) string { return archiveSHA256(string(b))[:16] }

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1: "1 B", 1023: "1023 B",
		1024: "1.0 KB", 1075: "1.0 KB", 1076: "1.1 KB", 1280: "1.3 KB", 1536: "1.5 KB",
		1048575: "1024.0 KB", // 1023.999… rounds up, as toFixed(1) does
		1 << 20: "1.0 MB", 1572864: "1.5 MB", 1625292: "1.5 MB", 1625293: "1.6 MB",
		50 << 20: "50.0 MB", 5 << 30: "5120.0 MB",
	} {
		require.Equal(t, want, humanSize(n), "%d bytes", n)
	}
}

// TestPackStoresUnsafeTextAsBinary covers the files Pack stores as binary
// beyond the spec's NUL rule, because as text they would not arrive intact.
func TestPackStoresUnsafeTextAsBinary(t *testing.T) {
	for name, f := range map[string]File{
		"invalid UTF-8":            {Name: "latin1.txt", Data: []byte("caf\xe9\n")},
		"own END marker":           {Name: "tricky.txt", Data: []byte("a\n=== END tricky.txt ===\nb\n")},
		"own END marker last":      {Name: "t.txt", Data: []byte("a\n=== END t.txt ===\n")},
		"no trailing newline":      {Name: "n.json", Data: []byte(`{"a":1}`)},
		"two trailing newlines":    {Name: "nn.txt", Data: []byte("para\n\n")},
		"empty":                    {Name: "empty", Data: []byte{}},
		"only a blank line and CR": {Name: "cr", Data: []byte("x\r\n\r\n")},
	} {
		t.Run(name, func(t *testing.T) {
			archive := Pack([]File{f})
			if name == "only a blank line and CR" {
				require.Contains(t, archive, "=== cr ===\nx\r\n\r\n=== END cr ===", "CR is text")
			} else {
				require.Contains(t, archive, "=== "+f.Name+" [binary] ===")
			}
			got, err := Unpack(archive)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, f.Name, got[0].Name)
			require.Equal(t, string(f.Data), string(got[0].Data))
		})
	}
	// A NUL past the sniff window does not make a file binary (§21.3).
	late := append(bytes.Repeat([]byte("x"), 9000), 0, '\n')
	require.Contains(t, Pack([]File{{Name: "late", Data: late}}), "=== late ===\n")
}

func TestUnpackParserRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		archive string
		want    []File
	}{
		{"text gains a trailing newline", "=== a ===\nno newline\n=== END a ===\n", []File{{"a", []byte("no newline\n")}}},
		{"empty text body", "=== a ===\n\n=== END a ===", []File{{"a", []byte("\n")}}},
		{"body runs to EOF", "=== a ===\nx\ny", []File{{"a", []byte("x\ny\n")}}},
		{"lines outside blocks ignored", "# comment\nnoise\n=== END a ===\n\n=== b ===\nB\n=== END b ===\ntrailing", []File{{"b", []byte("B\n")}}},
		{"END header is not a header", "=== END x ===\n=== END y [binary] ===\n", nil},
		{"binary", "=== b [binary] ===\nAAEC\nAw==\n=== END b ===\n", []File{{"b", []byte{0, 1, 2, 3}}}},
		{"binary with CRLF and no padding", "=== b [binary] ===\nAAEC\r\nAw\n=== END b ===", []File{{"b", []byte{0, 1, 2, 3}}}},
		{"wrong END ends nothing", "=== a ===\n1\n=== END b ===\n2\n=== END a ===", []File{{"a", []byte("1\n=== END b ===\n2\n")}}},
		{"header inside body is body", "=== a ===\n=== b ===\n=== END a ===", []File{{"a", []byte("=== b ===\n")}}},
		{"name with [binary] twice", "=== x [binary] [binary] ===\nAA==\n=== END x [binary] ===", []File{{"x [binary]", []byte{0}}}},
		{"name that is only [binary]", "===  [binary] ===\nt\n=== END  [binary] ===", []File{{" [binary]", []byte("t\n")}}},
		{"name with ===", "=== a === b ===\nt\n=== END a === b ===", []File{{"a === b", []byte("t\n")}}},
		{"CR in header is no header", "=== a\rb ===\nt\n=== END a\rb ===", nil},
		{"U+2028 in header is no header", "=== a\u2028b ===\nt\n", nil},
		{"empty name is no header", "===  ===\nt\n", nil},
		{"CRLF header is no header", "=== a ===\r\nx\r\n=== END a ===", nil},
		{"CR in text kept verbatim", "=== a ===\nx\r\n=== END a ===", []File{{"a", []byte("x\r\n")}}},
		{"hostile names are returned as written", "=== ../x ===\nt\n=== END ../x ===\n=== /etc/passwd ===\nu\n=== END /etc/passwd ===",
			[]File{{"../x", []byte("t\n")}, {"/etc/passwd", []byte("u\n")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Unpack(tc.archive)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := Unpack("=== b [binary] ===\n!!!\n=== END b ===")
	require.ErrorIs(t, err, ErrBadArchive)
}

func TestPackUnpackRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abc =\n\r\t\"\\é😀")
	var files []File
	for i := range 40 {
		n := rng.IntN(3000)
		var data []byte
		if i%2 == 0 {
			for range n {
				data = append(data, string(alphabet[rng.IntN(len(alphabet))])...)
			}
			data = append(data, '\n')
		} else {
			data = make([]byte, n+1) // data[0] is NUL: binary
			for j := 1; j <= n; j++ {
				data[j] = byte(rng.IntN(256))
			}
		}
		files = append(files, File{Name: "f/" + strings.Repeat("x", i+1) + ".dat", Data: data})
	}
	got, err := Unpack(Pack(files))
	require.NoError(t, err)
	require.Equal(t, files, got)
}
