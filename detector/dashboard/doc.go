// Package dashboard serves Vigil's web dashboard: a single page, with its
// script and style sheet embedded in the binary, that reads everything
// from the HTTP API of package api. It needs no build step, no Node.js and
// no network beyond the Vigil server: `go run` serves it offline.
//
// # Semantics
//
// The pages, chosen by the URL fragment (#/profile/NAME and so on):
//
//   - Overview: things known and reporting, active violations by profile
//     and behavior, and the latest violation events, updated live from the
//     server-sent events of GET /api/violation-events/stream.
//   - Security profile: its behaviors and targets, and for each numeric
//     metric the fleet's percentile bands from GET /api/metric-statistics
//     (1 h, 24 h, 7 d or 14 d of 5-minute windows; p0, p10, p50, p90, p99,
//     p100 as toggles) with each behavior's threshold drawn over them: a
//     line for a static value, the moving threshold (the behavior's
//     statistic of each window, times or divided by its factor) for a
//     statistical one. The devices in violation are listed beside it.
//   - Thing: its groups and attributes, its metrics' raw values from GET
//     /api/metric-values with the violation periods shaded, its listening
//     ports and remote addresses over time, and its violation history.
//   - Violations: active ones and the history, with filters, and the
//     operator's verdict (true positive, benign, false positive) with a note.
//   - Profile editor: behaviors (static, statistical and set checks),
//     targets, validation through the API with every error shown beside
//     the field it names, and import and export of the AWS JSON.
//
// Times are read at the service clock that GET /api/fleet-summary reports,
// so a fleet replayed in simulated time (--time-source report) is shown at
// its own time.
//
// # Caveats
//
// The moving threshold of a statistical behavior is drawn from the fleet
// summaries, which keep each 5-minute window's distribution within 1%
// relative error: it matches the detector's exact threshold to that
// precision when the behavior's durationSeconds is 300, and is an
// approximation for other window lengths. The API has no authentication,
// so neither has the dashboard.
package dashboard
