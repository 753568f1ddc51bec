// Package history keeps every thing's metric values for the retention
// window (14 days by default), for ListMetricValues and for operators who
// investigate one device: Append buffers datapoints, Flush writes them to
// the store in compact blocks, Values reads one series over a time range
// in pages, and Expire deletes whole days that left the window.
//
// # Semantics
//
// A series is one metric of one thing. Its points are kept to the
// millisecond (the precision of the API's times); Values returns them
// oldest first, from start (inclusive) to end (exclusive), buffered points
// included. Points at the same millisecond are all kept, in the order they
// were appended; a point may arrive late or out of order.
//
// Flush commits without waiting for the disk: once it returns, the points
// survive a crash of the process; a crash of the machine may lose the last
// flush interval. Run flushes every FlushInterval (one minute by default),
// runs a retention pass at once and every hour, and flushes a last time
// when its context ends.
//
// A retention pass at now moves the horizon to now - Retention: Values no
// longer returns older points, Append drops them, and every day partition
// that ends at or before the horizon is deleted with one range deletion,
// then compacted so that its disk space is freed at once. The older part of the day that holds the horizon stays on disk until the
// day has wholly passed, so the disk holds between Retention and
// Retention + 1 day of history.
//
// # Layout
//
// Keys live under "h/" in the store's raw key space, partitioned by UTC day
// so that retention is a range deletion:
//
//	h/ day(4 bytes, big-endian, days since 1970-01-01) / thing 0x00 metric 0x00 hour(1 byte, 0-23)
//
// One value holds one series' points of one hour: a block. The block of the
// current hour is open: it stays in memory, and each flush that follows new
// points rewrites it under the same key. When a point of a newer hour
// arrives, the open block is written one last time and is closed. A late
// point for a closed hour goes to a block of its own that is merged with
// the stored one at the next flush. Before its first write, a block is
// merged with its stored copy whenever one may exist: a late block, or a
// block no newer than the newest block on disk when the history was
// created (so that a restart in the middle of an hour keeps the hour's
// earlier points). The key "h/\xffnewest", sorted after every day
// partition, holds the start of the newest block ever written, so that
// newer blocks skip that read. Values reads the buffer and one range of
// keys per day of its time range.
//
// # Block encoding
//
// A block is a version byte (1) and one or more runs. A run holds points of
// one value kind and one encoding, in the order they were appended:
//
//	header (kind in the low 4 bits, encoding in the high 4) | count (uvarint) | points
//
// The first point's time is its offset from the hour's start in
// milliseconds (uvarint); each next time is the zigzag varint of the change
// of the delta between times (delta-of-delta): a device reporting every 5
// minutes costs one or two bytes per timestamp, depending on its jitter.
// Values are encoded by the run's encoding:
//
//   - integers (counts, and integral numbers up to 2^53): the zigzag varint
//     of the difference with the previous value;
//   - floats (numbers that are not integral, -0, NaN, infinities, counts
//     beyond 2^53): the float64 bits XOR the previous value's, as a byte 0
//     when equal, else a byte (trailing zero bytes << 4 | significant bytes)
//     and the significant bytes, little-endian. A number metric's run
//     switches from integers to floats at its first non-integral value, and
//     stays floats until the hour ends;
//   - sets: a byte 0 when the set equals the previous point's, else the
//     element count + 1 (uvarint) and the elements: ports as zigzag varint
//     deltas, IP addresses as a tag (4, 16, or 17 for an IPv6 address with
//     a zone, then its length and bytes; 0 for the zero address) and their
//     bytes, numbers as 8 bytes little-endian, strings as a uvarint length
//     and bytes.
//
// Measured with BenchmarkBytesPerPoint (1,000 things, 10 numeric metrics of
// which one is a float, one day at 5-minute intervals with ±250 ms of
// jitter, after a compaction), a point costs about 4 bytes in the store's
// tables, keys included; all the store's files, about 7.7 bytes, of which
// 11 MB of write-ahead log files: a fixed overhead, whatever the history's
// size.
//
// # Caveats
//
//   - Times before 1970 or from year 10000 on, names with a NUL byte, and
//     values of no known kind are dropped; Dropped counts them.
//   - Each flush rewrites the open block of every series that received
//     points since the last one: with 5-minute reports, an hourly block is
//     written about 12 times, and compactions drop the older copies.
//   - A series stays buffered until its newest block leaves the retention
//     window: about 330 bytes per series with a full hourly block.
//   - One History per store: two would overwrite each other's blocks.
//   - A point far in the future moves the newest block marker there: until
//     then, every new block is read from the store once before its first
//     write, which is slower but loses nothing.
//   - A token is the position after the last point returned (its time and
//     how many points of that millisecond were returned): a point appended
//     later at an earlier time is not seen by the next pages.
//   - A stored block that cannot be decoded makes Values fail for the time
//     ranges that hold it, until a flush of new points of its hour replaces
//     it (Flush reports the replacement). A newest block marker that cannot
//     be decoded makes every block merge with its stored copy.
package history
