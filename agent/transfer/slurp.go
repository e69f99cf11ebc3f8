package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentchat/mesh/protocol"
)

// File is one file of a SLURP archive: its name inside the archive (a
// relative path with "/" separators) and its bytes.
type File struct {
	Name string
	Data []byte
}

// SLURP v4 layout constants (PROTOCOL.md §21.3).
const (
	slurpMagic     = "# --- SLURP v4 ---"
	binarySniffLen = 8192 // a NUL within the first this many bytes marks a binary file
	base64Line     = 76
	minNameWidth   = 4
	sizeWidth      = 10
	binaryTag      = " [binary]"
)

// Pack builds the SLURP v4 archive of files exactly as PROTOCOL.md §21.3
// (the dashboard packer) lays it out: the "#" header with name, file count,
// total size and creation time, the MANIFEST block (omitted for no files),
// then one block per file, lines joined with "\n".
//
// A file is binary, and stored as standard base64 in 76-character lines,
// when it has a NUL byte within its first 8192 bytes (the spec's rule). Pack
// goes further in one respect: it stores a file as text only when a §21.3
// parser gives back exactly its bytes, and as binary otherwise, since a
// binary block decodes to the same bytes with every parser. So these are
// binary too: data that is not valid UTF-8 (a JSON string cannot carry it),
// text containing a line equal to the file's own END marker (it would
// truncate the entry), and text that does not end in exactly one "\n"
// (the body drops one trailing "\n" and the parser adds one back only when
// missing, so "a" would arrive as "a\n" and "a\n\n" as "a\n"). Text is
// stored verbatim with its trailing "\n" removed.
//
// Pack does not check names; Sender does (checkName).
func Pack(files []File) string { return packAt(files, time.Now()) }

// packAt is Pack with a fixed creation time.
func packAt(files []File, created time.Time) string {
	type entry struct {
		File
		binary bool
		sum    string
	}
	entries := make([]entry, len(files))
	var total int64
	width := minNameWidth
	for i, f := range files {
		sum := sha256.Sum256(f.Data)
		entries[i] = entry{File: f, binary: isBinary(f), sum: hex.EncodeToString(sum[:])}
		total += int64(len(f.Data))
		width = max(width, protocol.UTF16Len(f.Name))
	}

	var b strings.Builder
	line := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	line(slurpMagic)
	line("#")
	line("# name: transfer")
	line("# files: ", strconv.Itoa(len(files)))
	line("# total: ", humanSize(total))
	line("# created: ", created.UTC().Format("2006-01-02T15:04:05.000Z"))
	line("#")
	if len(entries) > 0 {
		line("# MANIFEST:")
		for _, e := range entries {
			tag := ""
			if e.binary {
				tag = "  [binary]"
			}
			line("#   ", padRight(e.Name, width), "  ", padLeft(humanSize(int64(len(e.Data))), sizeWidth),
				"  sha256:", e.sum[:16], tag)
		}
		line("#")
	}
	for _, e := range entries {
		b.WriteByte('\n') // the empty line before each block
		if e.binary {
			line("=== ", e.Name, binaryTag, " ===")
			writeBase64Lines(&b, e.Data)
		} else {
			line("=== ", e.Name, " ===")
			b.WriteString(strings.TrimSuffix(string(e.Data), "\n"))
		}
		b.WriteByte('\n')
		b.WriteString("=== END " + e.Name + " ===")
		b.WriteByte('\n')
	}
	return b.String()
}

// isBinary decides how a file is stored (see Pack).
func isBinary(f File) bool {
	if bytes.IndexByte(f.Data[:min(len(f.Data), binarySniffLen)], 0) >= 0 {
		return true // the spec's rule
	}
	// The rest only makes sure text round-trips exactly.
	if !bytes.HasSuffix(f.Data, []byte("\n")) || bytes.HasSuffix(f.Data, []byte("\n\n")) || !utf8.Valid(f.Data) {
		return true
	}
	end := "=== END " + f.Name + " ==="
	for rest := string(f.Data); rest != ""; {
		l, next, _ := strings.Cut(rest, "\n")
		if l == end {
			return true
		}
		rest = next
	}
	return false
}

// writeBase64Lines writes data as standard base64 in lines of 76 characters,
// joined with "\n" and without a final newline.
func writeBase64Lines(b *strings.Builder, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for i := 0; i < len(enc); i += base64Line {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(enc[i:min(i+base64Line, len(enc))])
	}
}

// humanSize formats a byte count as the dashboard does: "<n> B" below 1024,
// else one decimal and " KB" (÷1024) below 1 MiB, else one decimal and
// " MB" (÷1048576). The decimal is rounded as JavaScript's toFixed(1)
// rounds these exact binary fractions: half up.
func humanSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return tenths(n, 1024) + " KB"
	default:
		return tenths(n, 1<<20) + " MB"
	}
}

// tenths returns n/unit with one decimal, rounded half up.
func tenths(n, unit int64) string {
	t := (20*n + unit) / (2 * unit) // floor(n*10/unit + 0.5)
	return strconv.FormatInt(t/10, 10) + "." + strconv.FormatInt(t%10, 10)
}

// padRight and padLeft pad with spaces to a width in UTF-16 code units, as
// JavaScript's padEnd and padStart count.
func padRight(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-protocol.UTF16Len(s)))
}

func padLeft(s string, width int) string {
	return strings.Repeat(" ", max(0, width-protocol.UTF16Len(s))) + s
}

// Unpack parses a SLURP v4 archive with the parser rules of PROTOCOL.md
// §21.3: the archive is split on "\n"; outside a file block, a line
// "=== <name> [binary] ===" or "=== <name> ===" whose name does not start
// with "END " opens a block (any other line is ignored); the block's body
// runs to the exact line "=== END <name> ===" or the end of the archive. A
// binary body is its lines concatenated and base64-decoded; a text body is
// its lines joined with "\n", plus a "\n" if it does not end with one.
//
// Names are returned as they stand in the archive: check them with SafeJoin
// before using them as paths. A binary body that is not valid base64 is an
// error (ErrBadArchive).
func Unpack(archive string) ([]File, error) {
	lines := strings.Split(archive, "\n")
	var files []File
	for i := 0; i < len(lines); i++ {
		name, binary, ok := parseHeader(lines[i])
		if !ok {
			continue
		}
		end := "=== END " + name + " ==="
		start := i + 1
		i = start
		for i < len(lines) && lines[i] != end {
			i++
		}
		body := lines[start:i]
		if binary {
			data, err := decodeBase64(strings.Join(body, ""))
			if err != nil {
				return nil, fmt.Errorf("%w: file %q: %v", ErrBadArchive, name, err)
			}
			files = append(files, File{Name: name, Data: data})
			continue
		}
		text := strings.Join(body, "\n")
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		files = append(files, File{Name: name, Data: []byte(text)})
	}
	return files, nil
}

// parseHeader matches a block header the way the reference parser's
// regular expressions do: /^=== (.+?) \[binary\] ===$/ first, then
// /^=== (.+?) ===$/, where "." matches anything but a JavaScript line
// terminator (\n, \r, U+2028, U+2029); a name starting with "END " is not a
// header.
func parseHeader(line string) (name string, binary bool, ok bool) {
	inner, found := strings.CutPrefix(line, "=== ")
	if !found {
		return "", false, false
	}
	inner, found = strings.CutSuffix(inner, " ===")
	if !found || inner == "" || strings.ContainsAny(inner, "\r\u2028\u2029") {
		return "", false, false
	}
	if n, isBin := strings.CutSuffix(inner, binaryTag); isBin && n != "" {
		name, binary = n, true
	} else {
		name = inner
	}
	if strings.HasPrefix(name, "END ") {
		return "", false, false
	}
	return name, binary, true
}

// decodeBase64 decodes standard base64, tolerating a "\r" left by CRLF line
// ends and missing padding, as Node's Buffer.from(s, "base64") does.
func decodeBase64(s string) ([]byte, error) {
	s = strings.ReplaceAll(s, "\r", "")
	if data, err := base64.StdEncoding.DecodeString(s); err == nil {
		return data, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// archiveSHA256 is the hex SHA-256 of the archive's UTF-8 bytes, the hash
// the offer and the complete message carry.
func archiveSHA256(archive string) string {
	sum := sha256.Sum256([]byte(archive))
	return hex.EncodeToString(sum[:])
}
