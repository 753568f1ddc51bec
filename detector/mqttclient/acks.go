package mqttclient

import (
	"sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// ackQueue holds the reports handed to the detector and not yet answered,
// per report topic, oldest first. The detector answers a thing's reports in
// the order it received them, so a reply on a topic answers the oldest
// report of that topic.
type ackQueue struct {
	mu      sync.Mutex
	byTopic map[string][]mqtt.Message
	n       int
}

func newAckQueue() ackQueue {
	return ackQueue{byTopic: map[string][]mqtt.Message{}}
}

func (q *ackQueue) push(topic string, m mqtt.Message) {
	q.mu.Lock()
	q.byTopic[topic] = append(q.byTopic[topic], m)
	q.n++
	q.mu.Unlock()
}

// ack acknowledges the oldest unanswered report of topic, if any.
func (q *ackQueue) ack(topic string) {
	q.mu.Lock()
	list := q.byTopic[topic]
	if len(list) == 0 {
		q.mu.Unlock()
		return
	}
	m := list[0]
	if len(list) == 1 {
		delete(q.byTopic, topic)
	} else {
		list[0] = nil
		q.byTopic[topic] = list[1:]
	}
	q.n--
	q.mu.Unlock()
	m.Ack()
}

func (q *ackQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
