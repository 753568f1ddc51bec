// Package registry holds what operators configure: things (with attributes
// and credentials), thing groups with parents, memberships, custom metrics,
// security profiles with versions, and the targets profiles are attached
// to. It validates every change, keeps an in-memory index for the hot path
// (which profiles cover a thing), and writes each change into a store batch
// that the caller commits.
//
// # Semantics
//
//   - A profile attached to "all/things" covers every thing that reports;
//     "all/registered-things" the things created through the API;
//     "all/unregistered-things" the others; "thinggroup/G" the things in G
//     and in every group below G.
//   - A profile's version starts at 1 and grows by one with each update; an
//     update or delete with an expected version that differs fails with
//     ErrVersionConflict.
//   - A custom metric cannot be deleted while a profile uses it, and its type
//     never changes.
//   - Deleting a group removes its memberships and the targets that name it;
//     a group with child groups cannot be deleted.
//
// # Caveats
//
// Changes are applied to memory when they are written to the batch; if the
// commit then fails, the caller must treat the registry as stale (the app
// stops). Methods are safe for concurrent use.
package registry
