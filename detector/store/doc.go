// Package store is Vigil's embedded database, on Pebble: registry records
// (things, groups, memberships, custom metrics, profiles, targets), the
// engine's per-thing state, violations and their events, the outbox of
// messages still to publish, and the alert deliveries still to make. It is
// the only package that imports the database.
//
// # Semantics
//
// Records are JSON values under a kind and a name; the caller owns their
// shape. Changes are grouped in a Batch and committed atomically: a report's
// effects (its thing's engine state, its last report id, the violation
// records and the outbox entries for the events it raised) land together or
// not at all. Commits are synced to disk before they return, so a commit
// that returned survives a crash of the process or the machine.
//
// Violation events are keyed by time, so listing a time range is a range
// scan, and retention deletes whole ranges of old events with one range
// deletion, never row by row.
//
// # Caveats
//
// One process opens a data directory at a time (Pebble locks it).
package store
