package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 1 << 20

// readJSON decodes a request body into dst, a pointer to a struct. An empty
// body reads as {}. Syntax errors name the byte offset, type errors the
// field, and members dst does not declare are refused, all of them named.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &Error{Status: http.StatusRequestEntityTooLarge, Type: InvalidRequest,
				Message: fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}
		}
		return invalid("read request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	var doc any
	if err := decodeOne(body, &doc); err != nil {
		return err
	}
	if _, ok := doc.(map[string]any); !ok {
		return invalid("request body must be a JSON object")
	}
	if unknown := unknownFields("", doc, reflect.TypeOf(dst)); len(unknown) > 0 {
		return invalid("unknown field%s in request body: %s", plural(len(unknown)), strings.Join(unknown, ", "))
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return jsonError(body, err)
	}
	return nil
}

// decodeOne decodes exactly one JSON value from data.
func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("request body: unexpected data after the JSON value at %s", position(data, dec.InputOffset()))
	}
	return nil
}

// jsonError turns a decoding error into an InvalidRequestException that
// says where the problem is.
func jsonError(data []byte, err error) error {
	if syn, ok := errors.AsType[*json.SyntaxError](err); ok {
		return invalid("request body is not valid JSON: %v at %s", syn, position(data, syn.Offset-1))
	}
	if typ, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := typ.Field
		if p := pathAt(data, typ.Offset); p != "" {
			field = p
		}
		if field == "" {
			field = "request body"
		}
		return invalid("%s: want %s, got JSON %s (ending at %s)", field, typeName(typ.Type), typ.Value, position(data, typ.Offset-1))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid("request body is not valid JSON: it ends before the value is complete")
	}
	return invalid("request body: %v", err)
}

// position describes where the byte at index i is: its offset from 0,
// and its line and column from 1.
func position(data []byte, i int64) string {
	i = min(max(i, 0), int64(len(data)))
	before := data[:i]
	line := bytes.Count(before, []byte("\n")) + 1
	col := i - int64(bytes.LastIndexByte(before, '\n'))
	return fmt.Sprintf("byte %d (line %d, column %d)", i, line, col)
}

// typeName names a Go type as a JSON type.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// unknownFields walks a decoded JSON value alongside the Go type it is
// meant for and returns the paths of the object members that type does not
// declare (matched as encoding/json matches them, ignoring case).
func unknownFields(path string, v any, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		return unknownMembers(path, v, t)
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil
		}
		var out []string
		for i, e := range v {
			out = append(out, unknownFields(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())...)
		}
		return out
	}
	return nil
}

func unknownMembers(path string, v map[string]any, t reflect.Type) []string {
	var out []string
	for _, key := range slices.Sorted(maps.Keys(v)) {
		sub := key
		if path != "" {
			sub = path + "." + key
		}
		switch t.Kind() {
		case reflect.Map:
			out = append(out, unknownFields(sub, v[key], t.Elem())...)
		case reflect.Struct:
			ft, ok := fieldType(t, key)
			if !ok {
				out = append(out, sub)
				continue
			}
			out = append(out, unknownFields(sub, v[key], ft)...)
		}
	}
	return out
}

// fieldType finds the type of the struct field that a JSON member name
// decodes into: an exact match first, then one that differs only in case.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	fields := jsonFields(t)
	if ft, ok := fields[name]; ok {
		return ft, true
	}
	for n, ft := range fields {
		if strings.EqualFold(n, name) {
			return ft, true
		}
	}
	return nil, false
}

// jsonFields lists a struct's JSON member names and types, with the fields
// of embedded structs promoted.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, sub := range jsonFields(ft) {
					if _, ok := out[n]; !ok {
						out[n] = sub
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	return out
}
