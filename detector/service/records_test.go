package service

import (
	"encoding/json"
	"testing"
	"time"
)

func TestIngestStateForms(t *testing.T) {
	t0 := time.Date(2026, 3, 3, 8, 0, 0, 5, time.UTC)
	for _, st := range []ingestState{{}, {LastReportID: 1764000000000, LastReport: t0}, {LastReportID: -1}} {
		bin := st.appendBinary(nil)
		legacy, _ := json.Marshal(st)
		for form, data := range map[string][]byte{"binary": bin, "json": legacy} {
			got, err := decodeIngestState(data)
			if err != nil {
				t.Fatalf("%s form of %+v: %v", form, st, err)
			}
			if got.LastReportID != st.LastReportID || !got.LastReport.Equal(st.LastReport) {
				t.Errorf("%s form: got %+v, want %+v", form, *got, st)
			}
		}
		for n := range len(bin) {
			if _, err := decodeIngestState(bin[:n]); err == nil {
				t.Errorf("%+v cut at %d bytes decoded", st, n)
			}
		}
	}
	if _, err := decodeIngestState([]byte{ingestVersion, 2, 2, 0}); err == nil {
		t.Error("trailing bytes decoded")
	}
}

func FuzzDecodeIngestState(f *testing.F) {
	f.Add((&ingestState{LastReportID: 42, LastReport: time.Unix(1, 0)}).appendBinary(nil))
	f.Add([]byte(`{"lastReportId":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeIngestState(data)
		if err != nil || data[0] == '{' {
			return // JSON times may lie beyond what Unix nanoseconds hold
		}
		back, err := decodeIngestState(st.appendBinary(nil))
		if err != nil || back.LastReportID != st.LastReportID || !back.LastReport.Equal(st.LastReport) {
			t.Fatalf("round trip of %+v: %+v, %v", *st, back, err)
		}
	})
}
