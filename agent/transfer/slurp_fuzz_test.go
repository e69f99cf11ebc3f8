package transfer

import (
	"bytes"
	"testing"
)

// FuzzUnpack checks that Unpack never panics on any input, that what it
// returns packs and unpacks to the same files again, and that Pack then
// Unpack gives back any file the sender accepts, name and bytes: binary
// files, text files ending in "\n", and (Pack's choice of binary for them)
// every other file.
func FuzzUnpack(f *testing.F) {
	f.Add(vectorArchive, "hello.txt", []byte("hello\n"))
	f.Add("=== a ===\nx\n=== END a ===\n=== b [binary] ===\nAAE=\n=== END b ===", "dir/b.txt", []byte{0, 1, 2})
	f.Add("=== ../x ===\n=== END ../x ===", "x [binary]", []byte("=== END x [binary] ===\n"))
	f.Add("=== a\r ===\n===  [binary] ===\n\n", "END x", []byte("\xff\xfe\n"))
	f.Add("", "a", []byte(""))
	f.Fuzz(func(t *testing.T, archive, name string, data []byte) {
		files, err := Unpack(archive)
		if err == nil {
			again, err := Unpack(Pack(files))
			if err != nil {
				t.Fatalf("repacked archive does not unpack: %v", err)
			}
			if !sameFiles(files, again) {
				t.Fatalf("repack changed the files:\n%q\n%q", files, again)
			}
		}

		if checkFiles([]File{{Name: name, Data: data}}, MaxTotalSize) != nil {
			return // a name the sender refuses
		}
		file := File{Name: name, Data: data}
		got, err := Unpack(Pack([]File{file}))
		if err != nil || len(got) != 1 || got[0].Name != name || !bytes.Equal(got[0].Data, data) {
			t.Fatalf("round trip of %q (%q): got %q, %v", name, data, got, err)
		}
	})
}

func sameFiles(a, b []File) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}
