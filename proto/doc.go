// Package proto is Vigil's wire contract: the metrics report that devices
// publish, the replies they get back, the violation payloads the detector
// publishes, and the MQTT topic grammar that carries them.
//
// # Reports
//
// A [Report] is exactly the AWS IoT Device Defender metrics document. It can
// be written with long key names ("header", "report_id", "network_stats") or
// the short ones ("hed", "rid", "ns"), and encoded as JSON, CBOR or
// MessagePack ([Format]). [Decode] accepts any mix of long and short keys in
// any of the three encodings and returns the same [Report]; [Encode] writes
// one key style, never a mix.
//
// Decoding validates as it reads, and every problem is an [*Error] with a
// contract error code ([InvalidPayload], [ReportTooLarge], ...) and the path
// of the field at fault, spelled with the keys the device sent
// ("met.ns.bo: must be a non-negative integer, got -5"). The rules:
//
//   - the document is a map holding "header" and at least one of "metrics"
//     and "custom_metrics";
//   - "report_id" is a positive integer that fits in 64 signed bits; "version"
//     is a "Major.Minor" string with major version 1;
//   - counts (bytes, packets, totals) are non-negative integers; a float is
//     accepted only when it holds an exact integer;
//   - listening ports are 1..65535, local ports 0..65535 (0 means absent);
//   - "remote_addr" is "ip:port" with an IPv4 or bracketed IPv6 address;
//   - a custom metric is a list holding exactly one map with exactly one of
//     "number", "number_list", "string_list" or "ip_list"; numbers are finite;
//   - a null value counts as absent, but a key given twice, in any spelling
//     ("header" and "hed"), is refused, null or not;
//   - unknown keys are ignored, after they have been read and checked for
//     depth; nesting deeper than [MaxDepth] levels, the document's own map
//     included, is refused;
//   - the document is at most [DefaultMaxReportSize] bytes unless the caller
//     sets another limit, and trailing bytes after it are refused.
//
// A list that is present and empty decodes to an empty, non-nil slice, and
// an absent one to nil, so that a decoded report encodes back to the same
// document. The custom metrics decode to a slice in ascending name order,
// whatever their order in the document, with [Report.Custom] to find one;
// [Encode] writes them in that order and refuses a name given twice. A field at fault that is missing is named in the key style of
// the map it is missing from ("hed.rid: is required").
//
// Checks that need server state (report id ordering, throttling, the
// registered type of a custom metric) are not made here: the caller makes
// them with the codes this package defines, and [CheckCustomMetrics] helps
// with the last.
//
// # Caveats
//
// The JSON and CBOR readers are written for this one document: they stream
// over the input without building a generic tree, which keeps decoding a
// typical report within a few microseconds. MessagePack numbers and
// container lengths are read with the streaming API of
// github.com/vmihailenco/msgpack/v5, and its strings straight from the input:
// the library allocates whatever length a header claims before it finds out
// whether the data holds it. Every declared length is checked against the
// bytes left before anything is sized from it, so a decode allocates at most
// 64 bytes per input byte plus a constant, hostile input included. Tests
// check every reader against the general-purpose decoders of encoding/json,
// github.com/fxamacker/cbor/v2 and msgpack, which also encode the reply and
// violation payloads.
package proto
