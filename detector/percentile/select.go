package percentile

import (
	"math"
	"math/bits"
	"slices"
)

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return math.Abs(v) <= math.MaxFloat64 }

// finiteFirst moves the finite values of v to its front, keeping every
// element, and returns that front. Input with no NaN or infinity, the
// usual case, is only read.
func finiteFirst(v []float64) []float64 {
	n := slices.IndexFunc(v, func(x float64) bool { return !finite(x) })
	if n < 0 {
		return v
	}
	for i := n + 1; i < len(v); i++ {
		if finite(v[i]) {
			v[i], v[n] = v[n], v[i]
			n++
		}
	}
	return v[:n]
}

// selectRank returns the value of 0-based rank k among v, the one
// slices.Sort would put at index k. It reorders v, which must hold no NaN.
// The extreme ranks are a single scan; the others are found by floydRivest.
func selectRank(v []float64, k int) float64 {
	switch k {
	case 0:
		return lowest(v)
	case len(v) - 1:
		return highest(v)
	}
	floydRivest(v, 0, len(v)-1, k)
	return v[k]
}

// lowest returns the smallest of v, which holds no NaN. It is a plain
// comparison loop, several times faster than slices.Min, which must order
// NaN and signed zeros.
func lowest(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		if x < m {
			m = x
		}
	}
	return m
}

// highest returns the largest of v, which holds no NaN.
func highest(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		if x > m {
			m = x
		}
	}
	return m
}

// sampleAbove is the range length above which floydRivest picks its pivot
// from a sample, the threshold of Floyd and Rivest's paper.
const sampleAbove = 600

// floydRivest is Floyd and Rivest's SELECT (CACM, 1975): it moves the value
// of rank k into v[k], the smaller ones to v[left:k] and the larger ones to
// v[k+1:right+1].
//
// Like quickselect, it partitions around a pivot and keeps the side holding
// k. The pivot is what makes it fast: in a large range it first selects
// rank k, recursively, within a subrange of about n^(2/3) values around k,
// a random sample when the input is in random order, so the pivot lands
// just past the target and one partition leaves a small range. That takes n + min(k, n-k) + o(n) comparisons on average, about
// half of quickselect's. An input that defeats the pivot choice for more than
// 2 log2(n) partitions is finished by a sort, so the worst case is
// O(n log n).
func floydRivest(v []float64, left, right, k int) {
	for budget := 2 * bits.Len(uint(right-left+1)); right > left; budget-- {
		if budget == 0 {
			slices.Sort(v[left : right+1])
			return
		}
		if right-left > sampleAbove {
			lo, hi := sampleRange(left, right, k)
			floydRivest(v, lo, hi, k)
		}
		j := partitionAt(v, left, right, k)
		if j <= k {
			left = j + 1
		}
		if k <= j {
			right = j - 1
		}
	}
}

// sampleRange returns the part of v[left..right] that floydRivest samples
// for rank k: about n^(2/3) positions placed where k falls, skewed away from
// the middle by a fraction of a standard deviation.
func sampleRange(left, right, k int) (lo, hi int) {
	n := float64(right - left + 1)
	i := float64(k - left + 1)
	z := math.Log(n)
	s := 0.5 * math.Exp(2*z/3)
	sd := 0.5 * math.Sqrt(z*s*(n-s)/n)
	if i < n/2 {
		sd = -sd
	}
	lo = max(left, min(k, int(float64(k)-i*s/n+sd)))
	hi = min(right, max(k, int(float64(k)+(n-i)*s/n+sd)))
	return lo, hi
}

// partitionAt partitions v[left..right] around the pivot t = v[k] and
// returns the index j where t ends: v[left:j] <= t <= v[j+1:right+1].
// Values equal to t stop both scans, so runs of them split in the middle.
func partitionAt(v []float64, left, right, k int) int {
	t := v[k]
	v[left], v[k] = v[k], v[left]
	if v[right] > t {
		v[left], v[right] = v[right], v[left]
	}
	// One of v[left] and v[right] is t, the other is on its side of it:
	// after the first swap below, they stop both scans.
	i, j := left, right
	for i < j {
		v[i], v[j] = v[j], v[i]
		i++
		j--
		for v[i] < t {
			i++
		}
		for v[j] > t {
			j--
		}
	}
	if v[left] == t {
		v[left], v[j] = v[j], v[left]
	} else {
		j++
		v[j], v[right] = v[right], v[j]
	}
	return j
}
