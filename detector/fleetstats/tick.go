package fleetstats

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigil-iot/vigil/detector/percentile"
	"github.com/vigil-iot/vigil/detector/store"
)

// Tick closes every 5-minute window that ended, plus the grace, by now and
// stores its summary: one sketch per series over its devices' values. When
// the closed windows complete an hour (a day), the hour's summary is stored
// too, as the merge of the stored 5-minute (hour) summaries. Tick then
// deletes the summaries that are older than the retention. Summaries that
// could not be stored are kept and stored by the next Tick.
func (a *Aggregator) Tick(now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	cutoff := floorTo(now.Add(-a.retention).Unix(), hour)
	if closed := floorTo(now.Add(-a.grace).Unix(), window); closed > a.closed.Load() {
		a.closed.Store(closed)
		a.gather(closed, cutoff)
	}
	a.warnOverflow()
	if err := a.flush(); err != nil {
		return err
	}
	if err := a.rollUp(cutoff); err != nil {
		return err
	}
	return a.purge(cutoff)
}

// hour is the length of an hour in seconds.
const hour = int64(time.Hour / time.Second)

// floorTo rounds epoch seconds down to a multiple of unit; times before
// 1970 become 0.
func floorTo(sec, unit int64) int64 {
	if sec < 0 {
		return 0
	}
	return sec - sec%unit
}

// gather takes the windows that closed from the shards into pending
// summaries, leaving out those older than the retention cutoff.
func (a *Aggregator) gather(closed, cutoff int64) {
	for i := range a.shards {
		for k, w := range a.shards[i].take(closed) {
			if k.start < cutoff || len(w.values) == 0 {
				continue
			}
			s := a.pending[k]
			if s == nil {
				s = &summary{sketch: percentile.NewSketch()}
				a.pending[k] = s
			}
			for _, dv := range w.values {
				s.sketch.Add(dv.v)
			}
			s.devices = s.sketch.Count()
		}
	}
}

// warnOverflow logs how many datapoints MaxValues dropped since it last
// did.
func (a *Aggregator) warnOverflow() {
	if n := a.overflow.Load(); n > a.warnedAt {
		a.log.Warn().Uint64("dropped", n-a.warnedAt).Int("maxValues", a.perShard*numShards).
			Msg("datapoints dropped from fleet statistics: too many device values held for open windows")
		a.warnedAt = n
	}
}

// flush stores the pending 5-minute summaries with the closed watermark.
func (a *Aggregator) flush() error {
	closed := a.closed.Load()
	if len(a.pending) == 0 && a.stored == closed {
		return nil
	}
	b := a.db.NewBatch()
	for k, s := range a.pending {
		data, err := encodeSummary(s.devices, s.sketch)
		if err != nil {
			b.Discard()
			return err
		}
		b.SetRaw(series{k.profile, k.metric}.key(Period5m, k.start), data)
	}
	b.SetRaw(closedKey, watermark(closed))
	if err := a.db.CommitNoSync(b); err != nil {
		return fmt.Errorf("store fleet summaries: %w", err)
	}
	a.log.Debug().Int("summaries", len(a.pending)).Time("closed", time.Unix(closed, 0)).Msg("windows closed")
	clear(a.pending)
	a.stored = closed
	return nil
}

// rollUp stores the summaries of the hours, then the days, that the stored
// 5-minute windows complete, each the merge of the finer summaries within
// it. Those starting before the retention cutoff are left out. A stored
// summary that cannot be decoded is left out of the merge and reported
// once the rest is stored.
func (a *Aggregator) rollUp(cutoff int64) error {
	upto := floorTo(a.stored, hour)
	if upto <= a.rolled {
		return nil
	}
	all, err := allSeries(a.db)
	if err != nil {
		return err
	}
	var bad []error
	for _, p := range []Period{Period1h, Period1d} {
		b := a.db.NewBatch()
		errs, err := a.rollUpPeriod(b, all, p, cutoff, upto)
		bad = append(bad, errs...)
		if err != nil {
			b.Discard()
			return err
		}
		if p == Period1d {
			b.SetRaw(rolledKey, watermark(upto))
		}
		if err := a.db.CommitNoSync(b); err != nil {
			return fmt.Errorf("store fleet summaries of %s: %w", p, err)
		}
	}
	a.rolled = upto
	return errors.Join(bad...)
}

// finer is the period a period's summaries are merged from.
var finer = map[Period]Period{Period1h: Period5m, Period1d: Period1h}

// rollUpPeriod adds to b the summaries of period p of every series for the
// windows that end after the rolled-up watermark, at or before upto, and
// start at or after the retention cutoff. It returns the summaries it left
// out as undecodable apart from the error that stops it.
func (a *Aggregator) rollUpPeriod(b *store.Batch, all []series, p Period, cutoff, upto int64) (bad []error, err error) {
	n := p.Seconds()
	for end := max(floorTo(a.rolled, n), ceilTo(cutoff, n)) + n; end <= upto; end += n {
		errs, err := a.rollUpWindow(b, all, p, end-n)
		bad = append(bad, errs...)
		if err != nil {
			return bad, err
		}
	}
	return bad, nil
}

// rollUpWindow adds to b the summary of every series for the window of
// period p starting at start.
func (a *Aggregator) rollUpWindow(b *store.Batch, all []series, p Period, start int64) (bad []error, err error) {
	for _, s := range all {
		sum, errs, err := a.merge(s, finer[p], start, start+p.Seconds())
		bad = append(bad, errs...)
		if err != nil {
			return bad, err
		}
		if sum == nil {
			continue
		}
		data, err := encodeSummary(sum.devices, sum.sketch)
		if err != nil {
			return bad, err
		}
		b.SetRaw(s.key(p, start), data)
	}
	return bad, nil
}

// ceilTo rounds epoch seconds up to a multiple of unit.
func ceilTo(sec, unit int64) int64 { return floorTo(sec+unit-1, unit) }

// merge merges the stored summaries of period p of a series that start in
// [from, to). It returns nil when there are none, and the summaries it
// could not decode apart from the error that stops it.
func (a *Aggregator) merge(s series, p Period, from, to int64) (*summary, []error, error) {
	var out *summary
	var bad []error
	err := a.db.ScanRaw(s.key(p, from), s.key(p, to), func(k, v []byte) bool {
		devices, sk, err := decodeSummary(v)
		if err != nil {
			_, start, _ := parseKey(k)
			bad = append(bad, fmt.Errorf("summary of %s %s (%s at %d) left out: %w", s.profile, s.metric, p, start, err))
			return true
		}
		if out == nil {
			out = &summary{sketch: percentile.NewSketch()}
		}
		out.devices = max(out.devices, devices)
		out.sketch.Merge(sk)
		return true
	})
	if err != nil {
		return nil, bad, fmt.Errorf("merge fleet summaries of %s %s: %w", s.profile, s.metric, err)
	}
	return out, bad, nil
}

// purge deletes, once an hour, the summaries of every period that start
// before the retention cutoff: one range deletion per series and period.
func (a *Aggregator) purge(cutoff int64) error {
	if cutoff <= a.purged {
		return nil
	}
	all, err := allSeries(a.db)
	if err != nil {
		return err
	}
	for _, s := range all {
		for _, p := range Periods {
			if err := a.db.DeleteRawRange(s.key(p, 0), s.key(p, cutoff)); err != nil {
				return fmt.Errorf("delete old fleet summaries of %s %s: %w", s.profile, s.metric, err)
			}
		}
	}
	a.purged = cutoff
	return nil
}
