package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files and the transcoded CBOR and MessagePack test vectors")

// reportsDir holds the report test vectors: valid/ ones must be accepted,
// invalid/ ones rejected. Each vector is one document in one or more
// encodings (name.json, name.cbor, name.msgpack, or name.cbor.hex and
// name.msgpack.hex for hand-written binary ones) and one name.golden file
// with the result that every encoding must decode to.
const reportsDir = "../testdata/reports"

// vectorExts maps the file extensions of vectors to their format; the hex
// ones come first so that "x.cbor.hex" is not taken for "x.cbor".
var vectorExts = []struct {
	ext    string
	format Format
	hex    bool
}{
	{".cbor.hex", CBOR, true},
	{".msgpack.hex", MsgPack, true},
	{".json", JSON, false},
	{".cbor", CBOR, false},
	{".msgpack", MsgPack, false},
}

// vector is one test document in the encodings it is written in.
type vector struct {
	name  string // file name without extension
	dir   string // valid or invalid
	data  map[Format][]byte
	files map[Format]string
}

func (v vector) path(ext string) string { return filepath.Join(reportsDir, v.dir, v.name+ext) }

// formats lists the encodings of the vector in the contract's order.
func (v vector) formats() []Format {
	var fs []Format
	for _, f := range Formats {
		if _, ok := v.data[f]; ok {
			fs = append(fs, f)
		}
	}
	return fs
}

// loadVectors reads the vectors of one directory (valid or invalid).
func loadVectors(t testing.TB, dir string) []vector {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(reportsDir, dir))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*vector{}
	for _, e := range entries {
		name, format, isHex, ok := vectorFile(e.Name())
		if !ok {
			continue
		}
		v := byName[name]
		if v == nil {
			v = &vector{name: name, dir: dir, data: map[Format][]byte{}, files: map[Format]string{}}
			byName[name] = v
		}
		if prev, dup := v.files[format]; dup {
			t.Fatalf("vector %s/%s: %s and %s are both %v", dir, name, prev, e.Name(), format)
		}
		data, err := os.ReadFile(filepath.Join(reportsDir, dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if isHex {
			if data, err = parseHexVector(data); err != nil {
				t.Fatalf("%s/%s: %v", dir, e.Name(), err)
			}
		}
		v.data[format], v.files[format] = data, e.Name()
	}
	var out []vector
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, *byName[name])
	}
	return out
}

// vectorFile splits a vector file name into the vector's name and format.
func vectorFile(file string) (name string, format Format, isHex, ok bool) {
	for _, x := range vectorExts {
		if name, ok := strings.CutSuffix(file, x.ext); ok {
			return name, x.format, x.hex, true
		}
	}
	return "", 0, false, false
}

// TestTranscodedVectors checks that the committed CBOR and MessagePack
// copies of the JSON vectors are what the general-purpose encoders make of
// them; -update rewrites them.
func TestTranscodedVectors(t *testing.T) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, v := range loadVectors(t, dir) {
			src, ok := v.data[JSON]
			if !ok || !transcodable(src) {
				continue
			}
			for _, f := range []Format{CBOR, MsgPack} {
				t.Run(dir+"/"+v.name+"."+f.String(), func(t *testing.T) {
					checkTranscoded(t, v, src, f)
				})
			}
		}
	}
}

func checkTranscoded(t *testing.T, v vector, src []byte, f Format) {
	want, err := transcode(src, f)
	if err != nil {
		t.Fatalf("transcode %s: %v", v.files[JSON], err)
	}
	if file, ok := v.files[f]; ok && strings.HasSuffix(file, ".hex") {
		t.Fatalf("%s is hand-written but %s can be transcoded: keep one", file, v.files[JSON])
	}
	path := v.path("." + f.String())
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./proto -run TestTranscodedVectors -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the transcoded %s (run go test ./proto -run TestTranscodedVectors -update)", path, v.files[JSON])
	}
}

// TestVectors decodes every encoding of every vector and checks the result
// against the vector's golden file: one document, three encodings, one
// result.
func TestVectors(t *testing.T) {
	if *update {
		TestTranscodedVectors(t) // the copies first, so that they are decoded below
	}
	for _, dir := range []string{"valid", "invalid"} {
		for _, v := range loadVectors(t, dir) {
			t.Run(dir+"/"+v.name, func(t *testing.T) { checkVector(t, v) })
		}
	}
}

func checkVector(t *testing.T, v vector) {
	goldenPath := v.path(".golden")
	var want []byte
	for _, f := range v.formats() {
		rep, err := Decode(f, v.data[f])
		checkOutcome(t, v, f, err)
		got := goldenText(t, rep, err)
		if want == nil {
			want = readGolden(t, goldenPath, got)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s decodes to\n%s\nwant (%s)\n%s", v.files[f], got, goldenPath, want)
		}
	}
}

// checkOutcome checks that a vector is accepted or rejected as its
// directory says, and that a rejection names its field.
func checkOutcome(t *testing.T, v vector, f Format, err error) {
	t.Helper()
	if v.dir == "valid" {
		if err != nil {
			t.Errorf("%s: rejected: %v", v.files[f], err)
		}
		return
	}
	var pe *Error
	switch {
	case err == nil:
		t.Errorf("%s: accepted", v.files[f])
	case !errors.As(err, &pe):
		t.Errorf("%s: error %T is not an *Error: %v", v.files[f], err, err)
	case pe.Code == "" || pe.Field == "" || pe.Message == "":
		t.Errorf("%s: error has an empty code, field or message: %#v", v.files[f], pe)
	}
}

// readGolden returns the golden file, after writing got to it under -update.
func readGolden(t *testing.T, path string, got []byte) []byte {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./proto -run TestVectors -update)", err)
	}
	return want
}

// goldenResult is the golden form of a decode: the report, or the error
// and the report id a rejection echoes.
type goldenResult struct {
	Report   *goldenReport `json:"report,omitempty"`
	Error    *goldenError  `json:"error,omitempty"`
	ReportID int64         `json:"reportId,omitempty"`
}

type goldenError struct {
	Code    ErrorCode `json:"code"`
	Field   string    `json:"field"`
	Message string    `json:"message"`
}

// goldenReport is a report as a golden file shows it: its custom metrics
// as a map, which JSON writes in name order.
type goldenReport struct {
	Header        Header
	Metrics       *Metrics
	CustomMetrics map[string]CustomValue
}

func newGoldenReport(rep *Report) *goldenReport {
	if rep == nil {
		return nil
	}
	g := &goldenReport{Header: rep.Header, Metrics: rep.Metrics}
	if rep.CustomMetrics != nil {
		g.CustomMetrics = make(map[string]CustomValue, len(rep.CustomMetrics))
		for _, m := range rep.CustomMetrics {
			g.CustomMetrics[m.Name] = m.Value
		}
	}
	return g
}

// goldenText is a canonical, readable dump of a decode's result: indented
// JSON with the report's Go field names (nil and empty lists apart) and
// map keys sorted.
func goldenText(t testing.TB, rep *Report, err error) []byte {
	t.Helper()
	g := goldenResult{Report: newGoldenReport(rep)}
	if err != nil {
		g = goldenResult{Error: &goldenError{Code: "(not an *Error)", Message: err.Error()}}
		if pe, ok := err.(*Error); ok {
			g.Error = &goldenError{Code: pe.Code, Field: pe.Field, Message: pe.Message}
		}
		if rep != nil {
			g.ReportID = rep.Header.ReportID
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestValidVectorsRoundTrip encodes every valid vector in every format and
// key style and checks that it decodes to the same report.
func TestValidVectorsRoundTrip(t *testing.T) {
	for _, v := range loadVectors(t, "valid") {
		t.Run(v.name, func(t *testing.T) {
			for _, f := range v.formats() {
				rep, err := Decode(f, v.data[f])
				if err != nil {
					t.Fatalf("%s: %v", v.files[f], err)
				}
				if err := rep.Validate(); err != nil {
					t.Errorf("%s: Validate: %v", v.files[f], err)
				}
				checkRoundTrip(t, rep)
			}
		})
	}
}
