// Package fleetstats keeps, for each security profile and each numeric
// metric it retains, a summary of the fleet's values per window: the
// percentile bands over 14 days that operators read on the dashboard to
// choose thresholds, served by GET /api/metric-statistics.
//
// The detector calls Add for each numeric datapoint of each profile that
// covers the thing, Tick from a ticker, Series to read, and Forget when a
// profile is deleted.
//
// # Semantics
//
// Windows. Datapoints are gathered in tumbling 5-minute windows aligned to
// the Unix epoch, per (profile, metric). A device has one value per window:
// counters (bytes, packets, messages, ...) are summed over the window;
// gauges take the value of the device's latest datapoint by datapoint time
// (a late datapoint does not replace a newer one).
//
// Closing. Tick(now) closes every window whose end plus the grace
// (Options.Grace, default 30 s) is at or before now, and stores its
// summary: a percentile.Sketch of the devices' values, so within 1%
// relative error at every percentile, exact at p0 and p100, with the exact
// device count. A datapoint that arrives after its window was closed is
// dropped: it goes to no window, neither its own nor the next, and is
// counted in Stats.Late. So a late report counts if it arrives before the
// first Tick after its window's end plus the grace; calling Tick every few
// seconds makes that "within the grace".
//
// Hours and days. When the closed windows complete an hour, the hour's
// summary is the merge of the stored 5-minute summaries within it, never
// computed again from the datapoints; a day's is the merge of its stored
// hours. Merging is lossless, so an hour's percentiles are those of all
// its device-window values, exactly as if they had been summarised at once.
// An hour whose 5-minute windows are not all there (devices silent, the
// process stopped) merges those that are; one with none has no summary.
// Only closed periods have summaries: the current hour and day are absent
// from Series until they are complete. A Point's Devices is the device
// count of a 5-minute window, and for an hour or a day the largest one
// among its windows (devices are not counted distinctly across windows);
// Samples is the number of values summarised.
//
// Retention. Summaries whose window starts before now minus
// Options.Retention (default 14 days), rounded down to the hour, are
// deleted by Tick, once an hour, with one range deletion per (profile,
// metric, period): a summary lives at least the retention and at most an
// hour more. Windows that close already older than that are not stored.
//
// Storage. Summaries live in the store's raw key space under "f/", keyed
// by profile, metric, period and window start, so a series is one range
// scan. With them the store keeps two watermarks: the end of the last
// closed window, so that after a restart no datapoint reopens a window
// already stored, and the last hour rolled up, so that hours and days
// completed while the process was stopped are rolled up by the first Tick.
// Summaries are written without waiting for the disk: a crash of the
// machine, not of the process, may lose the last ones.
//
// Fleets split across replicas. Sketches merge losslessly, so summaries
// made by replicas that each own part of the fleet can be merged into the
// fleet's without going back to the datapoints.
//
// # Caveats
//
// Open windows live in memory only: a crash or a stop loses the values of
// the windows still open (the current window, and the previous one during
// its grace), and those windows get no summary. Their hour merges the
// windows that were stored.
//
// Memory is bounded by Options.MaxValues device values held for open
// windows, one per (profile, metric, thing, window), at about 50 bytes
// each (some 200 MB at the default bound). The bound is split evenly among 64 shards chosen by thing, so
// it is approximate. Beyond it, a new device's value is dropped (counted in
// Stats.Overflow, logged at the next Tick), while the devices already held
// go on being updated. A datapoint far in the future opens its window,
// held until Tick reaches it.
//
// Names with a NUL byte cannot be keyed and are ignored; times before 1970
// too. Datapoints of a profile added after Forget are gathered again.
package fleetstats
