package service

import (
	"sync"
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/store"
)

// The ingest pipeline has two stages, so that the engine works on the next
// batch while the store makes the previous one durable:
//
//	Run (holds s.mu): reports -> engine -> store batch, replies, outbox entries -> commitJob
//	commitLoop:       commit (fsync) -> replies, outbox, history and fleet summaries
//
// Jobs are committed in the order they were prepared, and are prepared
// under s.mu in the order their outbox sequence numbers were given, so the
// messages still go out in order. Nothing that a job makes visible outside
// the process (a reply, an event, a retained datapoint) happens before its
// batch is durable. Every change of state that commits (a batch of reports,
// a tick, an API mutation) is a job, so none overtakes another.
//
// The second stage never takes s.mu: the first may hold it while it waits
// for room in the queue of jobs.

// commitQueueDepth is how many prepared jobs may wait for the committer.
const commitQueueDepth = 1

// commitJob is one store batch and what may happen only once it is durable.
type commitJob struct {
	batch    *store.Batch     // nil: nothing to commit
	messages []pendingMessage // outbox entries the batch adds
	replies  []reply
	retained []retainedReport
	accepted int
	reports  int
	started  time.Time
	// after runs once the batch is committed, or failed to be.
	after func()
	// done, when not nil, receives the commit's result.
	done chan error
}

// retainedReport is an accepted report's datapoints for the history and
// the fleet summaries.
type retainedReport struct {
	now      time.Time
	thing    string
	profiles []string
	dps      []detector.Datapoint
	buf      *[]detector.Datapoint // where dps came from, or nil
}

// datapointBuffers recycles the datapoint slices of reports: a report's
// datapoints are done with once retained (the engine and the retention
// copy the values they keep), and a slice of them is a kilobyte.
var datapointBuffers = sync.Pool{New: func() any { return new([]detector.Datapoint) }}

// recycle gives the report's datapoint slice back for another report.
func (r *retainedReport) recycle() {
	recycleDatapoints(r.buf, r.dps)
	r.dps, r.buf = nil, nil
}

// maxKeptDatapoints is the largest datapoint slice kept for reuse: a
// report with many custom metrics does not leave a big slice in the pool.
const maxKeptDatapoints = 64

// recycleDatapoints gives a datapoint slice back to datapointBuffers; buf
// is where it came from, or nil.
func recycleDatapoints(buf *[]detector.Datapoint, dps []detector.Datapoint) {
	if buf == nil || cap(dps) > maxKeptDatapoints {
		return
	}
	clear(dps) // drop the references to sets and names
	*buf = dps[:0]
	datapointBuffers.Put(buf)
}

// stage moves the outbox entries enqueued since the last job into j.
// Called with s.mu held.
func (s *Service) stage(j *commitJob) {
	j.messages, s.staged = s.staged, nil
}

// submit hands a prepared job to the committer, or completes it at once
// when the service is not running. Called with s.mu held, so that jobs
// reach the committer in the order they were prepared.
func (s *Service) submit(j *commitJob) {
	s.stage(j)
	if s.running {
		s.commits <- j
		return
	}
	s.complete(j)
}

// commitLoop completes jobs in order until jobs is closed.
func (s *Service) commitLoop(jobs <-chan *commitJob, finished chan<- struct{}) {
	defer close(finished)
	for j := range jobs {
		s.complete(j)
	}
}

// complete commits a job's batch and then does what its commit allows:
// the outbox entries join the messages to publish, replies go out, the
// datapoints are retained. If the commit fails, none of that happens: the
// devices get no reply and will send again.
func (s *Service) complete(j *commitJob) {
	var err error
	if j.batch != nil {
		if j.batch.Empty() {
			j.batch.Discard()
		} else {
			err = s.db.Commit(j.batch)
		}
	}
	if err != nil {
		s.log.Error().Err(err).Int("reports", j.reports).Msg("store commit failed; replies and messages withheld")
	} else {
		if len(j.messages) > 0 {
			s.pendMu.Lock()
			s.pending = append(s.pending, j.messages...)
			s.pendMu.Unlock()
		}
		s.acceptedCount.Add(int64(j.accepted))
		s.metrics.accepted.Add(float64(j.accepted))
		for _, r := range j.replies {
			if r.topic == "" {
				continue
			}
			if err := s.opts.Publisher.Publish(r.topic, r.payload, false, 0); err != nil {
				s.log.Warn().Err(err).Str("thing", r.thing).Msg("reply not sent")
			}
		}
		for i := range j.retained {
			r := &j.retained[i]
			s.retainDatapoints(r.now, r.thing, r.profiles, r.dps)
			r.recycle()
		}
	}
	if j.after != nil {
		j.after()
	}
	s.flushOutbox()
	if j.reports > 0 {
		s.metrics.ingestLatency.Observe(time.Since(j.started).Seconds() / float64(j.reports))
	}
	if j.done != nil {
		j.done <- err
	}
}
