package main

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigFile feeds any bytes to the config reader and every value it
// yields to every node flag's conversion: errors are fine, panics are not.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("listen = \"127.0.0.1:6667\"\npeer = [\"/ip4/127.0.0.1/tcp/4001\"]\n"))
	f.Add([]byte("buffer-size = 20\nallowlist = true\npark-after = \"2s\"\nchannels = [\"#a\", 3]\n"))
	f.Add([]byte("[table]\nx = 1\n"))
	flags := nodeFlags()
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "node.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := readConfigFile(path)
		if err != nil {
			return
		}
		for _, fl := range flags {
			for _, v := range m {
				_, _ = flagValues(fl, v)
			}
		}
	})
}
