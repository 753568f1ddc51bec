package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The headers of a webhook delivery.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body.
	SignatureHeader = "X-Vigil-Signature"
	// DeliveryHeader carries the delivery's key, the same on every attempt.
	DeliveryHeader = "X-Vigil-Delivery"
	// IdempotencyHeader carries the delivery's key too, under the name
	// HTTP APIs commonly dedupe by.
	IdempotencyHeader = "Idempotency-Key"
	// AttemptHeader counts the attempts of the delivery, from 1.
	AttemptHeader = "X-Vigil-Attempt"
)

// DefaultTimeout bounds one webhook attempt, from connecting to reading the
// answer.
const DefaultTimeout = 10 * time.Second

// maxRedirects bounds the same-host redirects a delivery follows.
const maxRedirects = 3

// Webhook is where a profile's events are posted, and the secret that
// signs them.
type Webhook struct {
	URL    string
	Secret string
}

// Sign returns the X-Vigil-Signature value of body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is body's X-Vigil-Signature under
// secret, comparing in constant time. Receivers written in Go can use it.
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(signature), []byte(Sign(secret, body)))
}

// NewClient returns the HTTP client for webhooks: each attempt bounded by
// timeout, TLS 1.2 or later with certificate verification, proxies from
// the environment, and redirects followed only when they keep the method
// and body (307, 308) and stay on the same scheme and host.
func NewClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = DefaultWorkers
	return &http.Client{Timeout: timeout, Transport: tr, CheckRedirect: checkRedirect}
}

// errRedirect is returned for a redirect the client does not follow.
var errRedirect = errors.New("redirect not followed: only 307 and 308 to the same scheme and host are")

func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) > maxRedirects:
		return fmt.Errorf("more than %d redirects", maxRedirects)
	case req.Response == nil || (req.Response.StatusCode != http.StatusTemporaryRedirect && req.Response.StatusCode != http.StatusPermanentRedirect):
		return errRedirect
	case req.URL.Scheme != first.Scheme || req.URL.Host != first.Host:
		return errRedirect
	}
	return nil
}

// StatusError is a webhook's answer other than 2xx.
type StatusError struct {
	Code int
	// Body is the start of the answer's body, for the logs.
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("receiver answered %d", e.Code)
	}
	return fmt.Sprintf("receiver answered %d: %q", e.Code, e.Body)
}

// attempt is the outcome of one delivery attempt.
type attempt struct {
	err error
	// wait is the receiver's Retry-After, or 0.
	wait time.Duration
}

// post makes one attempt to deliver e to hook.
func post(ctx context.Context, client *http.Client, hook Webhook, e *entry, now time.Time) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(e.Payload))
	if err != nil {
		return attempt{err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Vigil-Webhook/1")
	req.Header.Set(SignatureHeader, Sign(hook.Secret, e.Payload))
	req.Header.Set(DeliveryHeader, e.Key)
	req.Header.Set(IdempotencyHeader, e.Key)
	req.Header.Set(AttemptHeader, strconv.Itoa(e.Attempts+1))
	resp, err := client.Do(req)
	if err != nil {
		return attempt{err: redactError(err)}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return attempt{}
	}
	return attempt{err: &StatusError{Code: resp.StatusCode, Body: string(head)}, wait: retryAfter(resp.Header, now)}
}

// redactError keeps a webhook URL's query and credentials, which may hold
// tokens, out of an error that the logs will show.
func redactError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return ue.Err
	}
	return fmt.Errorf("%s %s://%s%s: %w", ue.Op, u.Scheme, u.Host, u.Path, ue.Err)
}
