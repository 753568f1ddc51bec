package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// fillBehavior sets the fields of the editor's last behavior, in order
// (the check type first: it chooses the operators), as a user would.
const fillBehavior = `(vals) => {
	const row = [...document.querySelectorAll("#behaviors [data-behavior]")].pop();
	for (const [k, v] of Object.entries(vals)) {
		const e = row.querySelector("[data-key=" + k + "]");
		if (e.type === "checkbox") e.checked = v; else e.value = v;
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
	}
}`

// behaviorErrors returns the error shown in each field of the last
// behavior, and the errors that found no field.
const behaviorErrors = `(() => {
	const row = [...document.querySelectorAll("#behaviors [data-behavior]")].pop();
	const out = {};
	for (const f of document.querySelectorAll("#profile-form [data-path]")) {
		const slot = f.querySelector("[data-error-for]");
		if (!slot || !slot.textContent) continue;
		out[(f.closest("[data-behavior]") === row ? "behavior." : "") + f.dataset.path] = slot.textContent;
	}
	const row_ = row.querySelector(':scope > [data-error-for=""]');
	if (row_ && row_.textContent) out["behavior"] = row_.textContent;
	const unplaced = document.getElementById("form-errors").textContent;
	if (unplaced) out["form"] = unplaced;
	return out;
})()`

func testEditor(t *testing.T, b *browser, s *demoServer, open func(context.Context, string, string)) {
	// Each case triggers one error of the API and names the field that
	// must show it.
	cases := []struct {
		name    string
		newOne  bool              // on a new profile's form, not scanner-recommended's
		profile map[string]string // profile-level fields
		fields  map[string]any
		want    string // the field path that shows the error
	}{
		{"unknown metric", false, nil, map[string]any{"name": "x", "metric": "aws:no-such-metric", "type": "static", "operator": "less-than", "value": "5"}, "behavior.metric"},
		{"operator of another kind of metric", false, nil, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "set", "operator": "in-cidr-set", "value": "10.0.0.0/8"}, "behavior.criteria.comparisonOperator"},
		{"value of the wrong type", false, nil, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "lots"}, "behavior.criteria.value"},
		{"missing value", false, nil, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": ""}, "behavior.criteria.value"},
		{"bad CIDR", false, nil, map[string]any{"name": "x", "metric": "aws:destination-ip-addresses", "type": "set", "operator": "in-cidr-set", "value": "10.0.0.0/99"}, "behavior.criteria.value"},
		{"negative factor", false, nil, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "statistical", "operator": "less-than", "statistic": "p90", "factor": "-2"}, "behavior.criteria.statisticalThreshold.factor"},
		{"datapoints to alarm out of range", false, nil, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5", "toAlarm": "0"}, "behavior.criteria.consecutiveDatapointsToAlarm"},
		{"datapoints to clear out of range", false, nil, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5", "toClear": "11"}, "behavior.criteria.consecutiveDatapointsToClear"},
		{"bad duration", false, nil, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5", "duration": "-300"}, "behavior.criteria.durationSeconds"},
		{"duplicate name", false, nil, map[string]any{"name": "bytes-out-ceiling", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5"}, "behavior.name"},
		{"bad behavior name", false, nil, map[string]any{"name": "no spaces allowed!", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5"}, "behavior.name"},
		{"description too long", false, map[string]string{"#p-desc": longText(1001)}, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5"}, "securityProfileDescription"},
		{"name of an existing profile", true, map[string]string{"#p-name": profileName}, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5"}, "securityProfileName"},
		{"malformed profile name", true, map[string]string{"#p-name": "no spaces here"}, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5"}, "securityProfileName"},
		{"unknown retained metric", false, map[string]string{"#p-retain": "aws:nothing-like-it"}, map[string]any{"name": "x", "metric": "aws:all-bytes-out", "type": "static", "operator": "less-than", "value": "5"}, "additionalMetricsToRetainV2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, actions := "#/editor/"+profileName, []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`#add-behavior`))}
			if tc.newOne {
				page, actions = "#/editor", nil // its one empty behavior is filled
			}
			open(b.ctx, page, `document.querySelector("#profile-form [data-behavior]") !== null`)
			args, _ := json.Marshal(tc.fields)
			actions = append(actions, jsDo(fmt.Sprintf("(%s)(%s)", fillBehavior, args)))
			for sel, v := range tc.profile {
				actions = append(actions, chromedp.SetValue(chromedp.CSS(sel), v))
			}
			actions = append(actions, chromedp.Click(chromedp.CSS(`#save`)))
			if err := chromedp.Do(b.ctx, actions...); err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			deadline := time.Now().Add(5 * time.Second)
			for len(got) == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				var err error
				if got, err = chromedp.Run(b.ctx, chromedp.Evaluate[map[string]string](behaviorErrors)); err != nil {
					t.Fatal(err)
				}
			}
			if got[tc.want] == "" || got["form"] != "" {
				t.Errorf("errors shown %v; want one beside %s, and none away from a field", got, tc.want)
			}
		})
	}

	t.Run("import AWS JSON", func(t *testing.T) {
		open(b.ctx, "#/editor", `document.querySelector("#profile-form [data-behavior]") !== null`)
		const profile = `{"securityProfileName":"imported","securityProfileDescription":"from an AWS CLI input file",
			"behaviors":[{"name":"ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[22,443]}}},
			{"name":"out","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"greater-than","statisticalThreshold":{"statistic":"p99"},"durationSeconds":300,"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":3}}]}`
		if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS(`#import-json`), profile), chromedp.Click(chromedp.CSS(`#import-button`))); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[document.getElementById("p-name").value,
			...[...document.querySelectorAll("#behaviors [data-behavior]")].map(r => ["name", "type", "operator", "value", "statistic", "toClear"].map(k => r.querySelector("[data-key=" + k + "]").value).join(" "))]`))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"imported", "ports set in-port-set 22, 443 p90 1", "out statistical greater-than  p99 3"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("imported form %q, want %q", got, want)
		}
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#save`))); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(b.ctx, `(document.querySelector("#profile-form .notice")?.textContent || "").startsWith("Saved imported")`, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		var p struct {
			Behaviors []json.RawMessage `json:"behaviors"`
		}
		s.getJSON(t, "/api/security-profiles/imported", &p)
		if len(p.Behaviors) != 2 {
			t.Errorf("imported profile in the API: %d behaviors", len(p.Behaviors))
		}
	})

	t.Run("create a behavior", func(t *testing.T) {
		open(b.ctx, "#/editor/"+profileName, `document.querySelector("#profile-form [data-behavior]") !== null`)
		fields, _ := json.Marshal(map[string]any{"name": "few-connections-strict", "metric": "aws:num-established-tcp-connections", "type": "static",
			"operator": "less-than", "value": "6", "duration": "", "toAlarm": "3", "toClear": "2", "suppress": true})
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#add-behavior`)), jsDo(fmt.Sprintf("(%s)(%s)", fillBehavior, fields)), chromedp.Click(chromedp.CSS(`#save`))); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(b.ctx, `(document.querySelector("#profile-form .notice")?.textContent || "").startsWith("Saved")`, 5*time.Second); err != nil {
			errs, _ := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]string](behaviorErrors))
			t.Fatalf("%v; errors shown: %v", err, errs)
		}
		var p struct {
			Behaviors []struct {
				Name           string `json:"name"`
				Metric         string `json:"metric"`
				SuppressAlerts bool   `json:"suppressAlerts"`
				Criteria       struct {
					ComparisonOperator           string                 `json:"comparisonOperator"`
					Value                        struct{ Count *int64 } `json:"value"`
					ConsecutiveDatapointsToAlarm int                    `json:"consecutiveDatapointsToAlarm"`
				} `json:"criteria"`
			} `json:"behaviors"`
		}
		s.getJSON(t, "/api/security-profiles/"+profileName, &p)
		found := false
		for _, bh := range p.Behaviors {
			if bh.Name == "few-connections-strict" {
				found = bh.Metric == "aws:num-established-tcp-connections" && bh.Criteria.ComparisonOperator == "less-than" &&
					bh.Criteria.Value.Count != nil && *bh.Criteria.Value.Count == 6 && bh.Criteria.ConsecutiveDatapointsToAlarm == 3 && bh.SuppressAlerts
			}
		}
		if !found || len(p.Behaviors) != 8 {
			t.Errorf("the new behavior is not in the API as entered: %+v", p.Behaviors)
		}
	})
}

func longText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}
