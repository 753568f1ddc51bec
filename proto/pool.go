package proto

import (
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// A decoder and its reader are some 700 bytes, most of them the fixed
// stacks that bound nesting. They are pooled, one pool per format, rather
// than allocated and cleared for every report.

type jsonDecoder struct {
	decoder
	reader jsonReader
}

type cborDecoder struct {
	decoder
	reader cborReader
}

type msgpackDecoder struct {
	decoder
	reader msgpackReader
}

var (
	jsonDecoders = sync.Pool{New: func() any {
		s := new(jsonDecoder)
		s.r = &s.reader
		return s
	}}
	cborDecoders = sync.Pool{New: func() any {
		s := new(cborDecoder)
		s.r, s.cbor = &s.reader, &s.reader
		return s
	}}
	msgpackDecoders = sync.Pool{New: func() any {
		s := new(msgpackDecoder)
		s.r = &s.reader
		s.reader.dec = msgpack.NewDecoder(nil)
		return s
	}}
)

// maxKeptBuffer is the largest scratch buffer a pooled decoder keeps.
const maxKeptBuffer = 4 << 10

// getDecoder returns a decoder over data in the given format, or nil for
// an unknown format. putDecoder gives it back.
func getDecoder(format Format, data []byte) *decoder {
	var d *decoder
	switch format {
	case JSON:
		s := jsonDecoders.Get().(*jsonDecoder)
		s.reader.init(data)
		d = &s.decoder
		d.owner = s
	case CBOR:
		s := cborDecoders.Get().(*cborDecoder)
		s.reader.init(data)
		d = &s.decoder
		d.owner = s
	case MsgPack:
		s := msgpackDecoders.Get().(*msgpackDecoder)
		s.reader.init(data)
		d = &s.decoder
		d.owner = s
	default:
		return nil
	}
	d.nsteps, d.next, d.short = 0, 0, false
	return d
}

// putDecoder returns a decoder to its pool, dropping its references to the
// data and the report.
func putDecoder(d *decoder) {
	d.rep, d.blk, d.iface, d.metric = nil, nil, "", ""
	if cap(d.key) > maxKeptBuffer {
		d.key = nil
	}
	switch s := d.owner.(type) {
	case *jsonDecoder:
		s.reader.init(nil)
		jsonDecoders.Put(s)
	case *cborDecoder:
		s.reader.init(nil)
		cborDecoders.Put(s)
	case *msgpackDecoder:
		s.reader.init(nil)
		msgpackDecoders.Put(s)
	}
}
