package proto

import "fmt"

// Format is the encoding of a report, named by the last level of its topic.
type Format uint8

// The three report encodings.
const (
	JSON Format = iota + 1
	CBOR
	MsgPack
)

// Formats lists every format, in the order the contract names them.
var Formats = []Format{JSON, CBOR, MsgPack}

// String returns the topic level of the format: "json", "cbor" or "msgpack".
func (f Format) String() string {
	switch f {
	case JSON:
		return "json"
	case CBOR:
		return "cbor"
	case MsgPack:
		return "msgpack"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// ParseFormat reads a format name as it appears in a topic.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "json":
		return JSON, nil
	case "cbor":
		return CBOR, nil
	case "msgpack":
		return MsgPack, nil
	}
	return 0, fmt.Errorf("unknown report format %q (want json, cbor or msgpack)", s)
}

// KeyStyle selects the key names an encoder writes.
type KeyStyle uint8

// The two key styles of the Device Defender document.
const (
	LongKeys KeyStyle = iota
	ShortKeys
)

// String returns "long" or "short".
func (k KeyStyle) String() string {
	if k == ShortKeys {
		return "short"
	}
	return "long"
}
