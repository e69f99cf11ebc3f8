package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// API holds what both API backends share: where the endpoint is, the model,
// the key and the HTTP client.
type API struct {
	// BaseURL is the API's base URL (see each backend for its default).
	BaseURL string
	// Model is the model name (AGENT_MODEL).
	Model string
	// Key is the API key; "" sends none (a local server needs none). It is
	// never logged or put in an error.
	Key string
	// MaxTokens bounds one reply. Zero means 1024.
	MaxTokens int
	// MaxRounds bounds the tool-call rounds of one turn. Zero means 8.
	MaxRounds int
	// HTTP is the client; nil means one with a 5-minute timeout.
	HTTP *http.Client
}

// Defaults of API.
const (
	DefaultMaxTokens = 1024
	DefaultMaxRounds = 8
)

// maxAPIResponse bounds a response body.
const maxAPIResponse = 8 << 20

func (a API) maxTokens() int {
	if a.MaxTokens > 0 {
		return a.MaxTokens
	}
	return DefaultMaxTokens
}

func (a API) maxRounds() int {
	if a.MaxRounds > 0 {
		return a.MaxRounds
	}
	return DefaultMaxRounds
}

func (a API) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return &http.Client{Timeout: 5 * time.Minute}
}

// post sends body as JSON to base+path with headers and decodes a 2xx
// response into out. Another status fails with the start of the body,
// which APIs fill with their error message.
func (a API) post(ctx context.Context, path string, headers map[string]string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%w: encode request: %v", ErrBackend, err)
	}
	url := strings.TrimSuffix(a.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrConfig, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return fmt.Errorf("%w: POST %s: %v", ErrBackend, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if err != nil {
		return fmt.Errorf("%w: read %s: %v", ErrBackend, url, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := string(data)
		if len(msg) > 500 {
			msg = msg[:500]
		}
		return fmt.Errorf("%w: POST %s: %s: %s", ErrBackend, url, resp.Status, strings.TrimSpace(msg))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: decode %s response: %v", ErrBackend, url, err)
	}
	return nil
}
