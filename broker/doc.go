// Package broker is Vigil's embedded MQTT broker: it listens for devices
// over TCP (and optionally TLS and WebSocket), decides who each client is and which
// topics it may use, counts what it sees of each thing, and lets the rest of
// the process subscribe and publish in process, without a network hop.
//
// It is built on github.com/mochi-mqtt/server/v2 (MQTT 3.1, 3.1.1 and 5),
// used only through its hook and its inline client. Nothing else in Vigil
// imports mochi, and the detector does not import this package: the wiring
// connects them through small interfaces.
//
// # Identity
//
// A client's identity is decided once, when it connects:
//
//   - its client id must be a valid thing name (1 to 128 bytes of UTF-8,
//     without control characters, "/", "+" or "#"), and not "inline", the id
//     of the broker's own client;
//   - the Authenticator is asked first; a device's client id must equal the
//     thing name it returns, and its username, when given, the client id. A
//     fleet or operator identity may use any client id and username;
//   - a client the Authenticator does not know (ErrUnknownThing), or any
//     client when there is no Authenticator, is admitted as an anonymous
//     device named by its client id when Options.AllowAnonymous is set and
//     it sent no password (a password that cannot be checked is refused). A
//     registered thing that sends no password is refused, so anonymity
//     cannot be used to take a registered name;
//   - over TLS, a client that presents a certificate is identified by it
//     alone: the CertificateChecker decides whether the certificate is good
//     (its CA, its validity, whether it is revoked) and which thing it names
//     (its common name); the client id, and the username when given, must
//     be that name. The handshake only requests the certificate: the
//     broker checks it after the CONNECT, so that a bad certificate is
//     refused with a CONNACK and counted against the thing it names. A
//     client without a certificate logs in with a password, as over TCP;
//   - a will message must be one the client may publish;
//   - a refused client gets CONNACK "not authorized" (MQTT 3.1.1) or "bad
//     username or password" (MQTT 5).
//
// # Topic rules
//
// A device publishes only its own reports,
// {$vigil|$aws}/things/{thing}/defender/metrics/{json|cbor|msgpack}, and
// subscribes only to filters that stay below
// {$vigil|$aws}/things/{thing}/defender/metrics/, where its replies come
// ("+" and "#" included). An anonymous device may also read the violation
// and alert topics, so that a demo works with mosquitto_sub.
//
// A fleet identity (a simulator, a gateway) publishes reports for any thing,
// and subscribes below {$vigil|$aws}/things/{thing or +}/defender/metrics/.
//
// An operator publishes nothing, and subscribes to $vigil/violations,
// $vigil/active-violations and $SYS, and anything below them, and to the
// alert topics of security profiles: any filter whose first level is a
// plain name (not $..., + or #). Only the broker itself publishes outside
// the $ topics, since clients publish nothing but reports.
//
// A quarantined thing (Options.Quarantine, asked on every publish and
// subscription) publishes only its own reports and reads only its own
// replies, whatever its role.
//
// Nobody but the broker itself publishes a reply (/accepted, /rejected) or
// under $vigil/violations or $vigil/active-violations. A shared
// subscription ($share/{group}/{filter}) is judged by its filter.
//
// A denied publish is acknowledged as usual (at QoS 1) and delivered to
// nobody; a denied subscription gets the failure return code. Both count as
// authorization failures of the client's thing (Stats), as do refused
// connections. Client publishes lose their retain flag: a report is not kept
// for later subscribers, which would see it as new.
//
// # Counts
//
// The broker counts, per thing (and per fleet or operator identity), what
// the broker-side metrics are made of (Stats, EachStats): connection
// attempts, authorization failures, the ends of connections (a takeover by
// a newer connection with the same client id included), the messages the
// thing publishes (allowed or denied) and their payload bytes, the largest
// and smallest of them, the messages it is sent, and its most recent
// connections with the address each came from. The counts only grow;
// readers take differences. With SetDimensions, the messages and denials
// whose topic matches a dimension's MQTT filters (with + and #, and
// ${iot:ClientId} standing for the client's id) are counted per dimension
// too.
//
// Counting a published message costs a few atomic additions on the
// thing's own counters, and a match of its topic against each dimension's
// filters: no lock is shared between things, and nothing is allocated.
//
// # Inline subscribe and publish
//
// Subscribe runs a handler for every matching message, on the publishing
// client's goroutine: a slow handler holds back that client's next packet,
// which is how the detector applies backpressure to a device. Publish sends
// from the broker itself, to any topic; a retained message is delivered to
// subscribers that arrive later, and an empty retained payload deletes it.
//
// With Options.Reports, the reports clients publish go to that handler from
// the publish hook, before their acknowledgement and in place of any
// subscriber: no client then receives reports, not even its own, and a
// report costs no lookup in the topic index. `vigil serve` runs this way.
// A report at QoS 1 is acknowledged by the hook itself, which spares mochi
// its in-flight record of the acknowledgement.
//
// MayHaveSubscribers tells the detector when a reply to a report would
// reach nobody: until a subscription that could match a reply topic has
// been granted (a client's or an inline one), the detector makes no reply.
//
// # Connections
//
// Each TCP (and TLS) connection holds back what is written to it while its
// reader is handling the bytes of its last read, and writes it all at once
// when the reader comes back for more, or after 2 ms: the acknowledgements
// of the reports that arrived together leave in one write system call and
// one TCP segment. A write to a connection whose reader is waiting goes out
// at once. A connection whose reads keep filling mochi's 2 KiB read buffer
// reads 32 KiB at a time while those reads come back full; a quiet
// connection keeps no such buffer. The reader never waits for a write: a
// peer that stops reading blocks only the writes to it, and a failed write
// ends the connection's reads, so that the client is dropped.
//
// # Caveats
//
// mochi drops messages, even at QoS 1, for a TCP subscriber whose outbound
// queue is full (8192 packets): one slow wildcard subscriber over TCP loses
// data under load. The detector therefore takes reports in the broker's
// own process (Options.Reports, or the inline client), which drops nothing.
//
// Counters live in memory, for the life of the broker, and names the
// Authenticator does not know are not counted (except anonymous devices that
// were admitted). Nothing is persisted: a restart forgets sessions,
// subscriptions and retained messages, so whoever owns a retained message
// (the detector, for active violations) publishes it again after a restart.
//
// mochi's own warnings and errors are written through the Logger of
// Options, except the end of each connection that ended with an error (a
// refused client, a device gone from the network), which is routine in a
// fleet and written at debug level.
package broker
