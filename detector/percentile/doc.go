// Package percentile computes the fleet percentiles behind statistical
// thresholds and fleet aggregations: exactly, by nearest rank, for
// populations up to ExactLimit, and with a mergeable DDSketch
// (github.com/DataDog/sketches-go) for larger ones and for summaries that are
// stored and merged across windows.
//
// # Semantics
//
// The percentile p (0 to 100) of n values is the nearest-rank value: sort the
// values and take the one at rank ceil(p/100 x n), counting from 1; p0 is the
// smallest value and p100 the largest. So p90 of 10 values is the 9th
// smallest, and at least p% of the values are at or below it. The rank is
// that of the decimal percentile: p99.9 of 1,000 values is the 999th,
// although 99.9 is not exact in binary. A p below 0 or above 100 is taken as
// 0 or 100; a NaN p, or a population with no values, has no percentile: NaN.
//
// NaN and ±Inf are not measurements: Exact, Of and Sketch all ignore them,
// so the population is that of the finite values, and Of means the same on
// both sides of ExactLimit.
//
// Exact finds the value by selection, not by sorting: expected linear time,
// and never worse than a sort.
//
// A Sketch answers within 1% relative error (DefaultRelativeAccuracy) at
// every percentile, keeps the exact count, minimum and maximum (so p0 and
// p100 are exact), and merges losslessly with other sketches: a merge of
// sketches answers exactly as one sketch of all their values would, and so
// does a sketch after MarshalBinary and UnmarshalBinary.
//
// # Caveats
//
// Exact and Of reorder the slice they are given; pass a copy to keep the
// order.
//
// A Sketch keeps values of magnitude below about 2.3e-308 (smaller than the
// smallest normal float) in its zero bucket, where the error is absolute,
// not relative, and ignores values beyond about ±1.26e308, the range its
// index mapping covers. Exact has neither limit.
//
// UnmarshalBinary accepts only what MarshalBinary can write, and allocates
// at most about 1.2 MB for the bins whatever the input claims, since a
// bin's index must be that of a finite float.
//
// A Sketch is not safe for concurrent use.
package percentile
