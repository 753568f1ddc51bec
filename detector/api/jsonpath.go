package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// pathFrame is an object or array being walked by pathAt.
type pathFrame struct {
	array     bool
	index     int    // the current element, for an array
	key       string // the current member, for an object
	expectKey bool
}

// pathAt returns the path, such as behaviors[2].criteria.value.count, of
// the JSON value that ends (or, for an object or array, starts) at offset
// in data: where encoding/json reports a type error. encoding/json names
// the field without array indexes, and with the names of embedded structs;
// the request's own path says which element is at fault. It returns ""
// when data cannot be walked to offset.
func pathAt(data []byte, offset int64) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*pathFrame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		top := (*pathFrame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			if len(stack) == 0 {
				return ""
			}
			stack = stack[:len(stack)-1]
			if dec.InputOffset() >= offset {
				return pathOf(stack)
			}
			valueDone(stack)
			continue
		}
		if top != nil && top.expectKey {
			top.key, _ = tok.(string)
			top.expectKey = false
			continue
		}
		if top != nil && top.array {
			top.index++
		}
		if dec.InputOffset() >= offset {
			return pathOf(stack)
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &pathFrame{array: d == '[', index: -1, expectKey: d == '{'})
			continue
		}
		valueDone(stack)
	}
}

// valueDone notes that the current member of the innermost object has its
// value: a key comes next.
func valueDone(stack []*pathFrame) {
	if len(stack) > 0 && !stack[len(stack)-1].array {
		stack[len(stack)-1].expectKey = true
	}
}

func pathOf(stack []*pathFrame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.array {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(f.key)
	}
	return b.String()
}
