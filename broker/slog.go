package broker

import (
	"context"
	"log/slog"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// slogHandler writes mochi's log records through a zerolog logger. It passes
// warnings and errors only: mochi's info and debug records describe every
// connection and hook, which the broker logs itself where it matters.
type slogHandler struct {
	log    zerolog.Logger
	prefix string // the open groups, as "a.b."
	attrs  []slog.Attr
}

// newSlogLogger returns a *slog.Logger for mochi that writes to log.
func newSlogLogger(log zerolog.Logger) *slog.Logger {
	return slog.New(&slogHandler{log: log})
}

// Enabled reports whether records of the level are written.
func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn
}

// Handle writes one record.
//
// mochi's listeners report every connection that ended with an error (a
// refused CONNECT, a device that dropped off the network) as a warning
// without a message. In a fleet these are routine, and refusals are logged
// by the hook already, so they are written at debug level.
func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	level, msg := zerolog.WarnLevel, r.Message
	switch {
	case r.Level >= slog.LevelError:
		level = zerolog.ErrorLevel
	case msg == "":
		level, msg = zerolog.DebugLevel, "connection ended"
	}
	ev := h.log.WithLevel(level)
	if ev == nil {
		return nil
	}
	for _, a := range h.attrs {
		addAttr(ev, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(ev, h.prefix, a)
		return true
	})
	ev.Msg(msg)
	return nil
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(h2.attrs[:len(h2.attrs):len(h2.attrs)], qualify(h.prefix, attrs)...)
	return &h2
}

// WithGroup returns a handler that puts the keys that follow in a group.
func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix += name + "."
	return &h2
}

// qualify prefixes the keys of attrs with the open groups.
func qualify(prefix string, attrs []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

// addAttr adds one attribute to an event. A packet is written as its type
// and topic, never with its payload, so that devices' data stays out of the
// logs.
func addAttr(ev *zerolog.Event, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	key := prefix + a.Key
	switch v.Kind() {
	case slog.KindGroup:
		for _, g := range v.Group() {
			addAttr(ev, key+".", g)
		}
	case slog.KindString:
		ev.Str(key, v.String())
	case slog.KindInt64:
		ev.Int64(key, v.Int64())
	case slog.KindUint64:
		ev.Uint64(key, v.Uint64())
	case slog.KindFloat64:
		ev.Float64(key, v.Float64())
	case slog.KindBool:
		ev.Bool(key, v.Bool())
	case slog.KindDuration:
		ev.Dur(key, v.Duration())
	case slog.KindTime:
		ev.Time(key, v.Time())
	default:
		addAny(ev, key, v.Any())
	}
}

// addAny adds a value of any other kind.
func addAny(ev *zerolog.Event, key string, v any) {
	switch v := v.(type) {
	case error:
		ev.AnErr(key, v)
	case packets.Packet:
		ev.Str(key, packets.PacketNames[v.FixedHeader.Type]+" "+v.TopicName)
	case *packets.Packet:
		ev.Str(key, packets.PacketNames[v.FixedHeader.Type]+" "+v.TopicName)
	default:
		ev.Interface(key, v)
	}
}
