package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-iot/vigil/detector/registry"
)

func (s *server) thingRoutes() {
	s.handle("POST /api/things/{name}", s.createThing)
	s.handle("GET /api/things/{name}", s.describeThing)
	s.handle("DELETE /api/things/{name}", s.deleteThing)
	s.handle("GET /api/things", s.listThings)
	s.handle("PUT /api/things/{name}/password", s.setPassword)
}

// attributePayload is AWS's attributes wrapper.
type attributePayload struct {
	Attributes map[string]string `json:"attributes"`
	// Merge is in AWS CLI input files; a new thing has nothing to merge.
	Merge json.RawMessage `json:"merge,omitempty"`
}

// createThingBody is the body of CreateThing, plus Vigil's password.
type createThingBody struct {
	ThingName        *string           `json:"thingName"`
	AttributePayload *attributePayload `json:"attributePayload"`
	// Password lets the thing authenticate to the broker; it is stored
	// hashed and never returned.
	Password *string `json:"password"`
	// Accepted from AWS CLI input files and ignored: Vigil has no thing
	// types or billing groups.
	ThingTypeName    json.RawMessage `json:"thingTypeName"`
	BillingGroupName json.RawMessage `json:"billingGroupName"`
}

// createThingOut is CreateThing's answer.
type createThingOut struct {
	ThingName string `json:"thingName"`
	ThingArn  string `json:"thingArn"`
	ThingID   string `json:"thingId"`
}

// thingOut is DescribeThing's answer, with the groups the thing is in.
type thingOut struct {
	ThingName   string            `json:"thingName"`
	ThingID     string            `json:"thingId"`
	ThingArn    string            `json:"thingArn"`
	Attributes  map[string]string `json:"attributes"`
	Version     int64             `json:"version"`
	ThingGroups []string          `json:"thingGroups"`
}

// thingAttributes is one thing in ListThings.
type thingAttributes struct {
	ThingName  string            `json:"thingName"`
	ThingArn   string            `json:"thingArn"`
	Attributes map[string]string `json:"attributes"`
	Version    int64             `json:"version"`
}

// listThingsOut is ListThings' answer.
type listThingsOut struct {
	Things    []thingAttributes `json:"things"`
	NextToken string            `json:"nextToken,omitempty"`
}

// nonNil returns m, or an empty map for nil, as AWS always returns
// attributes.
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (s *server) createThing(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body createThingBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := sameName("thingName", body.ThingName, name); err != nil {
		return err
	}
	var attrs map[string]string
	if body.AttributePayload != nil {
		attrs = body.AttributePayload.Attributes
	}
	password := ""
	setIf(&password, body.Password)
	t, err := s.svc.CreateThing(name, attrs, password)
	if err != nil {
		old, _ := s.reg.Thing(name)
		return existsError(err, thingID(old), thingARN(name))
	}
	writeJSON(w, http.StatusOK, createThingOut{ThingName: t.Name, ThingArn: thingARN(t.Name), ThingID: thingID(t)})
	return nil
}

func (s *server) describeThing(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	t, ok := s.reg.Thing(name)
	if !ok {
		return notFound("thing %q not found", name)
	}
	groups := s.reg.GroupsOf(name)
	if groups == nil {
		groups = []string{}
	}
	writeJSON(w, http.StatusOK, thingOut{ThingName: t.Name, ThingID: thingID(t), ThingArn: thingARN(t.Name),
		Attributes: nonNil(t.Attributes), Version: t.Version, ThingGroups: groups})
	return nil
}

// checkVersion checks an expectedVersion parameter against a resource's
// version.
func checkVersion(r *http.Request, what string, version int64) error {
	want, err := versionParam(r)
	if err != nil || want == nil || *want == version {
		return err
	}
	return &Error{Status: http.StatusConflict, Type: VersionConflict,
		Message: fmt.Sprintf("%s is at version %d, not %d", what, version, *want)}
}

func (s *server) deleteThing(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	t, ok := s.reg.Thing(name)
	if !ok {
		return notFound("thing %q not found", name)
	}
	if err := checkVersion(r, fmt.Sprintf("thing %q", name), t.Version); err != nil {
		return err
	}
	if err := s.svc.DeleteThing(name); err != nil {
		return err
	}
	s.forgetCredentials(name)
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *server) listThings(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "things")
	if err != nil {
		return err
	}
	match, err := attributeFilter(r)
	if err != nil {
		return err
	}
	things := slices.DeleteFunc(s.reg.Things(), func(t registry.Thing) bool { return !match(t.Attributes) })
	items, next := paginate(things, func(t registry.Thing) string { return t.Name }, p)
	out := listThingsOut{Things: make([]thingAttributes, 0, len(items)), NextToken: next}
	for _, t := range items {
		out.Things = append(out.Things, thingAttributes{ThingName: t.Name, ThingArn: thingARN(t.Name),
			Attributes: nonNil(t.Attributes), Version: t.Version})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// attributeFilter reads ListThings' attributeName, attributeValue and
// usePrefixAttributeValue.
func attributeFilter(r *http.Request) (func(map[string]string) bool, error) {
	q := r.URL.Query()
	name, value := q.Get("attributeName"), q.Get("attributeValue")
	prefix, err := boolParam(r, "usePrefixAttributeValue")
	if err != nil {
		return nil, err
	}
	if name == "" && value != "" {
		return nil, invalid("attributeValue: needs attributeName")
	}
	return func(attrs map[string]string) bool {
		v, ok := attrs[name]
		switch {
		case name == "":
			return true
		case !ok:
			return false
		case value == "":
			return true
		case prefix != nil && *prefix:
			return strings.HasPrefix(v, value)
		}
		return v == value
	}, nil
}

// passwordBody is the body of PUT /api/things/{name}/password.
type passwordBody struct {
	Password *string `json:"password"`
}

func (s *server) setPassword(w http.ResponseWriter, r *http.Request) error {
	var body passwordBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if body.Password == nil {
		return invalid(`password: is required ("" removes the password)`)
	}
	if err := s.svc.SetThingPassword(r.PathValue("name"), *body.Password); err != nil {
		return err
	}
	s.disconnect(r.PathValue("name")) // the old password no longer admits it
	writeJSON(w, http.StatusOK, empty{})
	return nil
}
