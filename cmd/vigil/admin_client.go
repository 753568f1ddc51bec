package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// apiTimeout bounds every request the admin commands send.
const apiTimeout = 30 * time.Second

// maxResponseSize bounds the body of an API response that is read.
const maxResponseSize = 64 << 20

// apiClient calls a Vigil server's HTTP API: JSON in, JSON out, errors in
// the AWS shape {"message": ...} turned into *apiError.
type apiClient struct {
	base  string // scheme://host[/prefix], without a trailing slash
	http  *http.Client
	token string // sent as a bearer token when set
}

// newAPIClient returns a client of the server at raw. An address without a
// scheme ("127.0.0.1:8080") is taken as http.
func newAPIClient(raw string) (*apiClient, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usageErrorf("--api %q: want a URL such as http://127.0.0.1:8080", raw)
	}
	u.RawQuery, u.Fragment = "", ""
	return &apiClient{
		base: strings.TrimSuffix(u.String(), "/"),
		http: &http.Client{Timeout: apiTimeout},
	}, nil
}

// apiPath builds /api/seg1/seg2/... with each segment escaped, so names
// that hold reserved characters reach the server intact.
func apiPath(segments ...string) string {
	var b strings.Builder
	b.WriteString("/api")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func (c *apiClient) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, q, nil)
}

func (c *apiClient) post(ctx context.Context, path string, q url.Values, body any) ([]byte, error) {
	return c.do(ctx, http.MethodPost, path, q, body)
}

func (c *apiClient) put(ctx context.Context, path string, q url.Values, body any) ([]byte, error) {
	return c.do(ctx, http.MethodPut, path, q, body)
}

func (c *apiClient) patch(ctx context.Context, path string, q url.Values, body any) ([]byte, error) {
	return c.do(ctx, http.MethodPatch, path, q, body)
}

func (c *apiClient) delete(ctx context.Context, path string, q url.Values) ([]byte, error) {
	return c.do(ctx, http.MethodDelete, path, q, nil)
}

// do sends one request and returns the response body of a 2xx answer. A
// nil body sends none; anything else is sent as JSON.
func (c *apiClient) do(ctx context.Context, method, path string, q url.Values, body any) ([]byte, error) {
	req, err := c.request(ctx, method, path, q, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeAPIError(resp, data)
	}
	return data, nil
}

func (c *apiClient) request(ctx context.Context, method, path string, q url.Values, body any) (*http.Request, error) {
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request to %s: %w", path, err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vigil/"+version)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// unreachable explains a request that got no HTTP answer at all.
func (c *apiClient) unreachable(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("the server at %s did not answer within %s", c.base, apiTimeout)
		}
		err = ue.Err
	}
	return fmt.Errorf("the server is not reachable at %s: %v", c.base, err)
}

// apiError is an answer of the API outside 2xx.
type apiError struct {
	Status  int
	Code    string // the AWS exception name, or the HTTP status text
	Message string
	// AWS says the body was an error in the AWS shape; otherwise the answer
	// did not come from the Vigil API (a proxy, an older server).
	AWS bool
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.Status, e.Code)
}

// awsCodes names the AWS exception of the statuses that have only one.
var awsCodes = map[int]string{
	http.StatusBadRequest:          "InvalidRequestException",
	http.StatusUnauthorized:        "UnauthorizedException",
	http.StatusNotFound:            "ResourceNotFoundException",
	http.StatusGone:                "LimitExceededException",
	http.StatusTooManyRequests:     "ThrottlingException",
	http.StatusInternalServerError: "InternalFailureException",
	http.StatusServiceUnavailable:  "ServiceUnavailableException",
}

// decodeAPIError reads an error answer: an AWS error {"message": ...}, or
// anything else a proxy or another server may send.
func decodeAPIError(resp *http.Response, data []byte) *apiError {
	e := &apiError{Status: resp.StatusCode}
	var body struct {
		Message string `json:"message"` // AWS writes "message" or "Message"
		Type    string `json:"__type"`
		Code    string `json:"code"`
	}
	if json.Unmarshal(data, &body) == nil && body.Message != "" {
		e.AWS, e.Message = true, body.Message
		e.Code = awsErrorCode(resp, firstNonEmpty(resp.Header.Get("X-Amzn-ErrorType"), body.Type, body.Code))
	} else {
		e.Message = firstLine(string(data))
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.StatusCode)
	}
	if e.Message == "" {
		e.Message = "the server answered " + http.StatusText(resp.StatusCode)
	}
	return e
}

// awsErrorCode returns the exception name the server gave, without the
// decorations of AWS ("Name:http://..." in the header, "ns#Name" in
// __type), or else the one its status implies.
func awsErrorCode(resp *http.Response, given string) string {
	code, _, _ := strings.Cut(given, ":")
	if _, name, ok := strings.Cut(code, "#"); ok {
		code = name
	}
	if code == "" {
		code = awsCodes[resp.StatusCode]
	}
	return code
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// firstLine returns the first line of a plain-text body, shortened.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// apiList is every item of a paginated list answer, and the field that holds
// them ("things", "violationEvents", ...).
type apiList struct {
	key   string
	items []json.RawMessage
}

// listAll GETs every page of a list, following nextToken. With key "" the
// items are those of the answer's only array field.
func (c *apiClient) listAll(ctx context.Context, path string, q url.Values, key string) (apiList, error) {
	q = cloneQuery(q)
	out := apiList{key: key, items: []json.RawMessage{}}
	seen := map[string]bool{}
	for {
		data, err := c.get(ctx, path, q)
		if err != nil {
			return out, err
		}
		next, err := out.addPage(data)
		if err != nil {
			return out, fmt.Errorf("GET %s: %w", path, err)
		}
		if next == "" {
			return out, nil
		}
		if seen[next] {
			return out, fmt.Errorf("GET %s: the server repeated nextToken %q", path, next)
		}
		seen[next] = true
		q.Set("nextToken", next)
	}
}

// addPage appends the items of one page and returns its nextToken.
func (l *apiList) addPage(data []byte) (string, error) {
	var page map[string]json.RawMessage
	if err := json.Unmarshal(data, &page); err != nil {
		return "", fmt.Errorf("the answer is not a JSON object: %w", err)
	}
	if l.key == "" {
		l.key = arrayField(page)
	}
	var items []json.RawMessage
	if raw, ok := page[l.key]; ok {
		if err := json.Unmarshal(raw, &items); err != nil {
			return "", fmt.Errorf("%s: not a list: %w", l.key, err)
		}
	}
	l.items = append(l.items, items...)
	var next string
	if raw, ok := page["nextToken"]; ok {
		_ = json.Unmarshal(raw, &next) // a null or odd token ends the list
	}
	return next, nil
}

// json returns the whole list as one answer: {"key": [...]}.
func (l apiList) json() []byte {
	data, _ := json.Marshal(map[string][]json.RawMessage{l.key: l.items})
	return data
}

// arrayField names the first field (in name order) that holds a list.
func arrayField(page map[string]json.RawMessage) string {
	keys := slices.Sorted(maps.Keys(page))
	for _, k := range keys {
		if v := bytes.TrimSpace(page[k]); len(v) > 0 && v[0] == '[' {
			return k
		}
	}
	return "items"
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}
