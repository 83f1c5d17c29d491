package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Defaults of the flags shared by the commands that ask a running server.
const (
	defaultServerURL = "http://127.0.0.1:8000"
	defaultTimeout   = 30 * time.Second
	// maxReply bounds how much of a server answer the CLI reads.
	maxReply = 32 << 20
)

// clientFlags are the flags of every command that talks to a running
// gateway.
type clientFlags struct {
	url     string
	apiKey  string
	timeout time.Duration
	json    bool
	color   bool
}

// addClientFlags registers the shared flags on cmd. The server URL and key
// fall back to NEXUS_URL and NEXUS_API_KEY (read when the command runs).
func addClientFlags(cmd *cobra.Command, f *clientFlags) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.url, "url", defaultServerURL, "base URL of the running Nexus server (env NEXUS_URL)")
	fl.StringVar(&f.apiKey, "api-key", "", "gateway API key, when the server requires one (env NEXUS_API_KEY)")
	fl.DurationVar(&f.timeout, "timeout", defaultTimeout, "how long to wait for the server")
	fl.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	fl.BoolVar(&f.color, "color", false, "colour statuses with ANSI escapes")
}

// apiClient calls the admin and status endpoints of a running gateway.
type apiClient struct {
	base   string
	apiKey string
	http   *http.Client
}

// newAPIClient builds a client from the flags, falling back to the
// environment for what the flags leave unset. Close it when done.
func newAPIClient(cmd *cobra.Command, f *clientFlags, env func(string) (string, bool)) (*apiClient, error) {
	base, key := f.url, f.apiKey
	if v, ok := env("NEXUS_URL"); ok && v != "" && !cmd.Flags().Changed("url") {
		base = v
	}
	if v, ok := env("NEXUS_API_KEY"); ok && v != "" && !cmd.Flags().Changed("api-key") {
		key = v
	}
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid --url %q: want the server's base URL, such as %s", base, defaultServerURL)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("invalid --timeout %s: must be positive", f.timeout)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &apiClient{
		base:   base,
		apiKey: key,
		http: &http.Client{
			Timeout: f.timeout,
			Transport: &http.Transport{
				DialContext:         dialer.DialContext,
				TLSHandshakeTimeout: 5 * time.Second,
				MaxIdleConnsPerHost: 2,
			},
		},
	}, nil
}

// Close releases the client's idle connections.
func (c *apiClient) Close() { c.http.CloseIdleConnections() }

// get decodes the JSON answer of GET path into out.
func (c *apiClient) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// do sends one request (in is encoded as JSON when not nil) and decodes a
// 2xx answer into out (when not nil). A non-2xx answer becomes an error
// carrying the server's message.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return c.transportError(method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxReply))
	if err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", method, c.base+path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return httpError(res, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the expected JSON (is %s a Nexus server?): %w", method, path, c.base, err)
	}
	return nil
}

// transportError explains a request that got no answer; for the common
// case of nothing listening it says so plainly, naming the URL.
func (c *apiClient) transportError(method, path string, err error) error {
	var opErr *net.OpError
	var urlErr *url.Error
	switch {
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("cannot reach the Nexus server at %s (is `nexus serve` running? set --url or NEXUS_URL): %v", c.base, opErr.Err)
	case errors.As(err, &urlErr) && urlErr.Timeout():
		return fmt.Errorf("the Nexus server at %s did not answer %s %s within %s", c.base, method, path, c.http.Timeout)
	}
	return fmt.Errorf("%s %s: %w", method, c.base+path, err)
}

// httpError turns a non-2xx answer into an error, using the message of an
// OpenAI error envelope when the body is one.
func httpError(res *http.Response, raw []byte) error {
	var env struct {
		Error *struct {
			Message string  `json:"message"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	status := fmt.Sprintf("HTTP %d %s", res.StatusCode, http.StatusText(res.StatusCode))
	if json.Unmarshal(raw, &env) == nil && env.Error != nil && env.Error.Message != "" {
		msg := env.Error.Message
		if res.StatusCode == http.StatusUnauthorized {
			msg += " (pass --api-key or set NEXUS_API_KEY)"
		}
		return fmt.Errorf("server answered %s: %s", status, msg)
	}
	text := strings.TrimSpace(string(raw))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" {
		return fmt.Errorf("server answered %s", status)
	}
	return fmt.Errorf("server answered %s: %s", status, text)
}
