package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// duplicateKeys lists the keys that appear twice in one object of the JSON
// text line, at any depth (encoding/json keeps the last one silently).
func duplicateKeys(line string) ([]string, error) {
	if !json.Valid([]byte(line)) {
		return nil, fmt.Errorf("not JSON: %s", line)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	var dups []string
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					dups = append(dups, key)
				}
				seen[key] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
			return err
		}
		return nil
	}
	if err := walk(); err != nil {
		return nil, err
	}
	return dups, nil
}

func TestDuplicateKeys(t *testing.T) {
	for line, want := range map[string][]string{
		`{"a":1,"b":{"c":2,"c":3},"a":[{"d":1,"d":2}]}`: {"c", "a", "d"},
		`{"a":1,"b":{"a":2}}`:                           nil,
	} {
		got, err := duplicateKeys(line)
		require.NoError(t, err)
		require.Equal(t, want, got, line)
	}
	_, err := duplicateKeys(`{"a":`)
	require.Error(t, err)
}

// requireUniqueKeys fails if a JSON line of out names a key twice.
func requireUniqueKeys(t *testing.T, out string) {
	t.Helper()
	lines := 0
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		lines++
		dups, err := duplicateKeys(line)
		require.NoError(t, err, line)
		require.Empty(t, dups, "duplicate keys in %s", line)
	}
	require.NotZero(t, lines, "no JSON lines to check")
}
