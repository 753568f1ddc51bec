// Package certauthority is Vigil's own certificate authority: it creates a
// CA on first use (the first certificate it issues), issues a key and a certificate for a thing (the
// certificate's common name is the thing name), issues the MQTT listener's
// server certificate, and records every certificate it issued with its
// status, so that a certificate can be revoked.
//
// # Semantics
//
// Keys are ECDSA P-256. The CA certificate is valid for DefaultCAValidity,
// a thing's certificate for DefaultValidity (Options), a server certificate
// for DefaultServerValidity. A certificate's id is the lowercase hex SHA-256
// of its DER encoding, as AWS IoT names certificates.
//
// The CA's key and certificate are files in Options.Dir (ca.key, mode 0600,
// and ca.crt): an operator backs them up, moves them to another volume, or
// replaces them with a CA of their own with ordinary tools. The records of
// issued certificates (thing, serial, validity, status) live in the store,
// next to the things they belong to. Private keys of issued certificates
// are returned once, to the caller, and never stored.
//
// Check decides whether a client certificate that chains to the CA is still
// good: issued by this CA, recorded, ACTIVE, and within its validity. A
// certificate of another CA, an expired one, an unrecorded one and a
// revoked one are all refused, each with its own error.
//
// # Caveats
//
// Revocation is enforced by Vigil's broker, which asks Check on every
// connection; no CRL or OCSP is published for other brokers. Replacing
// ca.key and ca.crt invalidates every certificate issued before.
package certauthority
