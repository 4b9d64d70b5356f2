package stats

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// A Client sends batches to a hub's POST /api/v1/stats.
type Client struct {
	URL   string // the endpoint, e.g. https://hub.example.org/api/v1/stats
	Token string // the mirror's token from hub.toml
	HTTP  *http.Client
	// Attempts is how many times a batch is sent when the hub cannot be
	// reached or answers 429 or 5xx (0 for 3); Backoff is the wait before
	// the second attempt, doubled each time after (0 for 2s).
	Attempts int
	Backoff  time.Duration
}

// requestTimeout bounds one attempt when the Client has no http.Client.
const requestTimeout = 60 * time.Second

// maxAnswerLen bounds the hub's answer read.
const maxAnswerLen = 64 << 10

// A HubError is a refusal from the hub: its status and the error it named.
type HubError struct {
	Status  int
	Message string
}

func (e *HubError) Error() string {
	return fmt.Sprintf("hub answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// retryable reports whether sending again may help.
func (e *HubError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// An intakeAnswer is the hub's answer to a batch.
type intakeAnswer struct {
	Status    string `json:"status"` // "counted" or "already counted"
	BatchID   string `json:"batch_id"`
	Counts    int    `json:"counts,omitempty"`    // added, when counted
	Downloads int64  `json:"downloads,omitempty"` // added, when counted
	Error     string `json:"error,omitempty"`
}

// The statuses of an accepted batch.
const (
	statusCounted = "counted"
	statusAlready = "already counted"
)

// Send posts b, trying again on errors that may pass.
func (c *Client) Send(ctx context.Context, b *Batch) (bool, error) {
	body, err := encodeBatch(b)
	if err != nil {
		return false, err
	}
	attempts, wait := c.Attempts, c.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if wait <= 0 {
		wait = 2 * time.Second
	}
	for i := 1; ; i++ {
		dup, err := c.post(ctx, body)
		var he *HubError
		if err == nil || i >= attempts || errors.As(err, &he) && !he.retryable() || ctx.Err() != nil {
			return dup, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

func (c *Client) post(ctx context.Context, body []byte) (bool, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: requestTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerLen))
	if err != nil {
		return false, fmt.Errorf("reading the hub's answer: %w", err)
	}
	var a intakeAnswer
	jerr := json.Unmarshal(data, &a)
	if resp.StatusCode != http.StatusOK {
		msg := a.Error
		if jerr != nil || msg == "" {
			msg = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		return false, &HubError{Status: resp.StatusCode, Message: msg}
	}
	switch {
	case jerr != nil:
		return false, fmt.Errorf("the hub's answer: %w", jerr)
	case a.Status == statusCounted:
		return false, nil
	case a.Status == statusAlready:
		return true, nil
	}
	return false, fmt.Errorf("the hub's answer: unknown status %q", a.Status)
}
