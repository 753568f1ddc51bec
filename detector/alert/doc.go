// Package alert delivers violation events to the webhooks of security
// profiles: an HTTP POST of the event, signed, retried with backoff until
// the receiver takes it, from an outbox kept in the store so that neither a
// receiver that is down for hours nor a restart of Vigil loses an event.
// (A profile's other alert target, an extra MQTT topic, goes through the
// detector's own message outbox.)
//
// # Semantics
//
//   - The detector stages a delivery in the same store batch as the event
//     that causes it (Stage), and calls Committed once the batch is
//     committed. A delivery exists exactly when its event does.
//   - The body is the event as published on the event topic (JSON).
//     X-Vigil-Signature is "sha256=" and the hex HMAC-SHA256 of the body
//     keyed with the webhook's secret. X-Vigil-Delivery and Idempotency-Key
//     carry the delivery's key, "{violationId}-{violationEventType}",
//     which is the same on every attempt and across restarts: a receiver
//     that has seen a key has seen that event. X-Vigil-Attempt counts the
//     attempts, from 1.
//   - Any 2xx answer delivers. Anything else (another status, a network
//     error, a timeout, a redirect that is not a 307 or 308 to the same
//     host) fails, and the delivery is tried again later: from MinBackoff,
//     doubling per failure up to MaxBackoff, each wait drawn between half
//     and all of its value. A Retry-After header lengthens the wait (up to
//     MaxBackoff). The attempt count and the next attempt's time are
//     stored, so a restart resumes the schedule.
//   - Order: per profile and thing, in the order the events happened. A
//     delivery that fails holds back the later ones of its thing (to that
//     profile's webhook), not those of other things, which go on up to
//     Workers at a time.
//   - A receiver that fails is presumed down: the profile's webhook then
//     gets one delivery at a time, after its own backoff, until one
//     succeeds, so that a fleet's worth of queued events does not hammer a
//     receiver that is coming back. When one succeeds after two or more
//     failures in a row, the receiver is back: every queued delivery is
//     due at once, whatever its own backoff said.
//   - Delivery is at least once: a receiver dedupes by the key. A
//     duplicate is sent only when an answer is lost (a timeout after the
//     receiver took the event, or a crash between delivering and noting it).
//   - The webhook (URL and secret) is read from the profile at each
//     attempt, so a changed URL or a rotated secret applies to the
//     deliveries still queued. When the profile or its webhook is deleted,
//     its queued deliveries are dropped.
//
// # Caveats
//
// The outbox is bounded: past MaxPending deliveries for one profile, the
// oldest is dropped for each new one, and a delivery older than MaxAge is
// dropped instead of sent. Both are counted in
// vigil_alert_webhook_dropped_total and logged.
//
// The webhook client verifies TLS certificates against the system roots
// (SSL_CERT_FILE and SSL_CERT_DIR add others), follows no redirect to
// another host, and gives each attempt Timeout. Any http or https URL is
// accepted, private addresses included: whoever may write profiles may
// make Vigil post to them.
package alert
