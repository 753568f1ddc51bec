package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-iot/vigil/detector/registry"
)

func (s *server) groupRoutes() {
	s.handle("POST /api/thing-groups/{name}", s.createGroup)
	s.handle("GET /api/thing-groups/{name}", s.describeGroup)
	s.handle("DELETE /api/thing-groups/{name}", s.deleteGroup)
	s.handle("GET /api/thing-groups", s.listGroups)
	s.handle("GET /api/thing-groups/{name}/things", s.listGroupThings)
	s.handle("PUT /api/thing-groups/addThingToThingGroup", s.addThingToGroup)
	s.handle("PUT /api/thing-groups/removeThingFromThingGroup", s.removeThingFromGroup)
}

// groupProperties is AWS's ThingGroupProperties.
type groupProperties struct {
	ThingGroupDescription string            `json:"thingGroupDescription,omitempty"`
	AttributePayload      *attributePayload `json:"attributePayload,omitempty"`
}

// createGroupBody is the body of CreateThingGroup.
type createGroupBody struct {
	ThingGroupName       *string          `json:"thingGroupName"`
	ParentGroupName      string           `json:"parentGroupName"`
	ThingGroupProperties *groupProperties `json:"thingGroupProperties"`
	// Tags are accepted from AWS CLI input files and ignored.
	Tags json.RawMessage `json:"tags"`
}

// createGroupOut is CreateThingGroup's answer.
type createGroupOut struct {
	ThingGroupName string `json:"thingGroupName"`
	ThingGroupArn  string `json:"thingGroupArn"`
	ThingGroupID   string `json:"thingGroupId"`
}

// groupRef is a group as AWS lists it.
type groupRef struct {
	GroupName string `json:"groupName"`
	GroupArn  string `json:"groupArn"`
}

// groupMetadata is AWS's ThingGroupMetadata.
type groupMetadata struct {
	ParentGroupName         string       `json:"parentGroupName,omitempty"`
	RootToParentThingGroups []groupRef   `json:"rootToParentThingGroups"`
	CreationDate            epochSeconds `json:"creationDate"`
}

// groupOut is DescribeThingGroup's answer.
type groupOut struct {
	ThingGroupName       string          `json:"thingGroupName"`
	ThingGroupID         string          `json:"thingGroupId"`
	ThingGroupArn        string          `json:"thingGroupArn"`
	Version              int64           `json:"version"`
	ThingGroupProperties groupProperties `json:"thingGroupProperties"`
	ThingGroupMetadata   groupMetadata   `json:"thingGroupMetadata"`
}

// listGroupsOut is ListThingGroups' answer.
type listGroupsOut struct {
	ThingGroups []groupRef `json:"thingGroups"`
	NextToken   string     `json:"nextToken,omitempty"`
}

// groupThingsOut is ListThingsInThingGroup's answer.
type groupThingsOut struct {
	Things    []string `json:"things"`
	NextToken string   `json:"nextToken,omitempty"`
}

func (s *server) createGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body createGroupBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := sameName("thingGroupName", body.ThingGroupName, name); err != nil {
		return err
	}
	g := registry.Group{Name: name, Parent: body.ParentGroupName}
	if props := body.ThingGroupProperties; props != nil {
		g.Description = props.ThingGroupDescription
		if props.AttributePayload != nil {
			g.Attributes = props.AttributePayload.Attributes
		}
	}
	out, err := s.svc.CreateGroup(g)
	if err != nil {
		old, _, _ := s.reg.Group(name)
		return existsError(err, groupID(old), groupARN(name))
	}
	writeJSON(w, http.StatusOK, createGroupOut{ThingGroupName: out.Name, ThingGroupArn: groupARN(out.Name), ThingGroupID: groupID(out)})
	return nil
}

func (s *server) describeGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	g, ancestors, ok := s.reg.Group(name)
	if !ok {
		return notFound("thing group %q not found", name)
	}
	rootToParent := make([]groupRef, 0, len(ancestors))
	for _, a := range slices.Backward(ancestors) {
		rootToParent = append(rootToParent, groupRef{GroupName: a, GroupArn: groupARN(a)})
	}
	writeJSON(w, http.StatusOK, groupOut{
		ThingGroupName: g.Name, ThingGroupID: groupID(g), ThingGroupArn: groupARN(g.Name), Version: g.Version,
		ThingGroupProperties: groupProperties{ThingGroupDescription: g.Description,
			AttributePayload: &attributePayload{Attributes: nonNil(g.Attributes)}},
		ThingGroupMetadata: groupMetadata{ParentGroupName: g.Parent, RootToParentThingGroups: rootToParent, CreationDate: secondsOf(g.Created)},
	})
	return nil
}

func (s *server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	g, _, ok := s.reg.Group(name)
	if !ok {
		return notFound("thing group %q not found", name)
	}
	if err := checkVersion(r, fmt.Sprintf("thing group %q", name), g.Version); err != nil {
		return err
	}
	if err := s.svc.DeleteGroup(name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

// listGroups lists groups, all of them or those under parentGroup (its
// children; with recursive=true every group below it), optionally only
// those whose name starts with namePrefixFilter.
func (s *server) listGroups(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "thing-groups")
	if err != nil {
		return err
	}
	recursive, err := boolParam(r, "recursive")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	parent, prefix := q.Get("parentGroup"), q.Get("namePrefixFilter")
	if _, _, ok := s.reg.Group(parent); parent != "" && !ok {
		return notFound("thing group %q not found", parent)
	}
	groups := slices.DeleteFunc(s.reg.Groups(), func(g registry.Group) bool {
		return !strings.HasPrefix(g.Name, prefix) || (parent != "" && !s.under(g, parent, recursive != nil && *recursive))
	})
	items, next := paginate(groups, func(g registry.Group) string { return g.Name }, p)
	out := listGroupsOut{ThingGroups: make([]groupRef, 0, len(items)), NextToken: next}
	for _, g := range items {
		out.ThingGroups = append(out.ThingGroups, groupRef{GroupName: g.Name, GroupArn: groupARN(g.Name)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// under reports whether g is a child of parent, or with recursive any
// descendant.
func (s *server) under(g registry.Group, parent string, recursive bool) bool {
	if !recursive {
		return g.Parent == parent
	}
	_, ancestors, _ := s.reg.Group(g.Name)
	return slices.Contains(ancestors, parent)
}

func (s *server) listGroupThings(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "thing-group-things")
	if err != nil {
		return err
	}
	recursive, err := boolParam(r, "recursive")
	if err != nil {
		return err
	}
	things, err := s.reg.ThingsInGroup(r.PathValue("name"), recursive != nil && *recursive)
	if err != nil {
		return err
	}
	items, next := paginate(things, func(t string) string { return t }, p)
	if items == nil {
		items = []string{}
	}
	writeJSON(w, http.StatusOK, groupThingsOut{Things: items, NextToken: next})
	return nil
}

// membershipBody is the body of AddThingToThingGroup and
// RemoveThingFromThingGroup: each side by name or by ARN.
type membershipBody struct {
	ThingGroupName string `json:"thingGroupName"`
	ThingGroupArn  string `json:"thingGroupArn"`
	ThingName      string `json:"thingName"`
	ThingArn       string `json:"thingArn"`
	// OverrideDynamicGroups is accepted from AWS CLI input files and
	// ignored: Vigil has no dynamic groups.
	OverrideDynamicGroups json.RawMessage `json:"overrideDynamicGroups"`
}

// resolve returns the group and thing names a membership body names.
func (b membershipBody) resolve() (group, thing string, err error) {
	if group, err = nameOrARN("thingGroup", b.ThingGroupName, b.ThingGroupArn, "thinggroup"); err != nil {
		return "", "", err
	}
	thing, err = nameOrARN("thing", b.ThingName, b.ThingArn, "thing")
	return group, thing, err
}

// nameOrARN returns the name given as {field}Name or {field}Arn; if both
// are given they must agree.
func nameOrARN(field, name, arn, resourceType string) (string, error) {
	if arn == "" {
		if name == "" {
			return "", invalid("%sName or %sArn: is required", field, field)
		}
		return name, nil
	}
	fromARN, ok := nameFromARN(arn, resourceType)
	switch {
	case !ok:
		return "", invalid("%sArn: %q is not the ARN of a %s", field, arn, resourceType)
	case name != "" && name != fromARN:
		return "", invalid("%sName %q and %sArn %q name different resources", field, name, field, arn)
	}
	return fromARN, nil
}

func (s *server) addThingToGroup(w http.ResponseWriter, r *http.Request) error {
	return s.membership(w, r, s.svc.AddThingToGroup)
}

func (s *server) removeThingFromGroup(w http.ResponseWriter, r *http.Request) error {
	return s.membership(w, r, s.svc.RemoveThingFromGroup)
}

func (s *server) membership(w http.ResponseWriter, r *http.Request, apply func(group, thing string) error) error {
	var body membershipBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	group, thing, err := body.resolve()
	if err != nil {
		return err
	}
	if err := apply(group, thing); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}
