package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
)

func (s *server) profileRoutes() {
	s.handle("POST /api/security-profiles/{name}", s.createProfile)
	s.handle("PATCH /api/security-profiles/{name}", s.updateProfile)
	s.handle("GET /api/security-profiles/{name}", s.describeProfile)
	s.handle("DELETE /api/security-profiles/{name}", s.deleteProfile)
	s.handle("GET /api/security-profiles", s.listProfiles)
	s.handle("PUT /api/security-profiles/{name}/targets", s.attach)
	s.handle("DELETE /api/security-profiles/{name}/targets", s.detach)
	s.handle("GET /api/security-profiles/{name}/targets", s.listTargets)
	s.handle("GET /api/security-profiles-for-target", s.profilesForTarget)
	s.handle("POST /api/security-profile-behaviors/validate", s.validateBehaviors)
}

// profileFields are the fields CreateSecurityProfile and
// UpdateSecurityProfile share.
type profileFields struct {
	// SecurityProfileName is in AWS CLI input files; it must match the path.
	SecurityProfileName         *string                          `json:"securityProfileName"`
	SecurityProfileDescription  *string                          `json:"securityProfileDescription"`
	Behaviors                   *[]proto.Behavior                `json:"behaviors"`
	AlertTargets                *map[string]registry.AlertTarget `json:"alertTargets"`
	AdditionalMetricsToRetain   *[]string                        `json:"additionalMetricsToRetain"`
	AdditionalMetricsToRetainV2 *[]registry.MetricToRetain       `json:"additionalMetricsToRetainV2"`
	MetricsExportConfig         *registry.MetricsExportConfig    `json:"metricsExportConfig"`
}

// createProfileBody is the body of CreateSecurityProfile.
type createProfileBody struct {
	profileFields
	Tags []registry.Tag `json:"tags"`
}

// createProfileOut is CreateSecurityProfile's answer.
type createProfileOut struct {
	Name string `json:"securityProfileName"`
	Arn  string `json:"securityProfileArn"`
}

// updateProfileBody is the body of UpdateSecurityProfile.
type updateProfileBody struct {
	profileFields
	DeleteBehaviors                 bool `json:"deleteBehaviors"`
	DeleteAlertTargets              bool `json:"deleteAlertTargets"`
	DeleteAdditionalMetricsToRetain bool `json:"deleteAdditionalMetricsToRetain"`
	DeleteMetricsExportConfig       bool `json:"deleteMetricsExportConfig"`
	// ExpectedVersion is in AWS CLI input files; it must match the query
	// parameter when both are given.
	ExpectedVersion *int64 `json:"expectedVersion"`
}

// profileOut is DescribeSecurityProfile's answer, and UpdateSecurityProfile's.
type profileOut struct {
	SecurityProfileName         string                          `json:"securityProfileName"`
	SecurityProfileArn          string                          `json:"securityProfileArn"`
	SecurityProfileDescription  string                          `json:"securityProfileDescription,omitempty"`
	Behaviors                   []proto.Behavior                `json:"behaviors"`
	AlertTargets                map[string]registry.AlertTarget `json:"alertTargets,omitempty"`
	AdditionalMetricsToRetain   []string                        `json:"additionalMetricsToRetain,omitempty"`
	AdditionalMetricsToRetainV2 []registry.MetricToRetain       `json:"additionalMetricsToRetainV2,omitempty"`
	MetricsExportConfig         *registry.MetricsExportConfig   `json:"metricsExportConfig,omitempty"`
	Version                     int64                           `json:"version"`
	CreationDate                epochSeconds                    `json:"creationDate"`
	LastModifiedDate            epochSeconds                    `json:"lastModifiedDate"`
}

func toProfileOut(p registry.Profile) profileOut {
	behaviors := p.Behaviors
	if behaviors == nil {
		behaviors = []proto.Behavior{}
	}
	return profileOut{
		SecurityProfileName: p.Name, SecurityProfileArn: profileARN(p.Name), SecurityProfileDescription: p.Description,
		Behaviors: behaviors, AlertTargets: p.AlertTargets, AdditionalMetricsToRetain: p.AdditionalMetricsToRetain,
		AdditionalMetricsToRetainV2: p.AdditionalMetricsToRetainV2, MetricsExportConfig: p.MetricsExportConfig,
		Version: p.Version, CreationDate: secondsOf(p.Created), LastModifiedDate: secondsOf(p.Modified),
	}
}

// profileRef is a profile's name and ARN, as AWS lists them.
type profileRef struct {
	Name string `json:"name"`
	Arn  string `json:"arn"`
}

// sameName checks that a name given in the body, if any, is the one in the
// path.
func sameName(field string, body *string, path string) error {
	if body != nil && *body != path {
		return invalid("%s: %q in the body differs from %q in the path", field, *body, path)
	}
	return nil
}

func (s *server) createProfile(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body createProfileBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := sameName("securityProfileName", body.SecurityProfileName, name); err != nil {
		return err
	}
	p := registry.Profile{Name: name, Tags: body.Tags}
	f := body.profileFields
	setIf(&p.Description, f.SecurityProfileDescription)
	setIf(&p.Behaviors, f.Behaviors)
	setIf(&p.AlertTargets, f.AlertTargets)
	setIf(&p.AdditionalMetricsToRetain, f.AdditionalMetricsToRetain)
	setIf(&p.AdditionalMetricsToRetainV2, f.AdditionalMetricsToRetainV2)
	p.MetricsExportConfig = f.MetricsExportConfig
	out, err := s.svc.CreateProfile(p)
	if err != nil {
		return existsError(err, name, profileARN(name))
	}
	writeJSON(w, http.StatusOK, createProfileOut{Name: out.Name, Arn: profileARN(out.Name)})
	return nil
}

// setIf sets *dst to *src when src is given.
func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func (s *server) updateProfile(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body updateProfileBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := sameName("securityProfileName", body.SecurityProfileName, name); err != nil {
		return err
	}
	version, err := versionParam(r)
	if err != nil {
		return err
	}
	switch {
	case version == nil:
		version = body.ExpectedVersion
	case body.ExpectedVersion != nil && *body.ExpectedVersion != *version:
		return invalid("expectedVersion: %d in the body differs from %d in the query", *body.ExpectedVersion, *version)
	}
	out, err := s.svc.UpdateProfile(name, body.patch(version))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toProfileOut(out))
	return nil
}

// patch is the registry's form of the update.
func (b updateProfileBody) patch(version *int64) registry.ProfilePatch {
	f := b.profileFields
	return registry.ProfilePatch{
		Description: f.SecurityProfileDescription, Behaviors: f.Behaviors, AlertTargets: f.AlertTargets,
		AdditionalMetricsToRetain: f.AdditionalMetricsToRetain, AdditionalMetricsToRetainV2: f.AdditionalMetricsToRetainV2,
		MetricsExportConfig: f.MetricsExportConfig, DeleteBehaviors: b.DeleteBehaviors, DeleteAlertTargets: b.DeleteAlertTargets,
		DeleteAdditionalMetricsToRetain: b.DeleteAdditionalMetricsToRetain, DeleteMetricsExportConfig: b.DeleteMetricsExportConfig,
		ExpectedVersion: version,
	}
}

func (s *server) describeProfile(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	p, ok := s.reg.Profile(name)
	if !ok {
		return notFound("security profile %q not found", name)
	}
	writeJSON(w, http.StatusOK, toProfileOut(p))
	return nil
}

func (s *server) deleteProfile(w http.ResponseWriter, r *http.Request) error {
	version, err := versionParam(r)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteProfile(r.PathValue("name"), version); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

// listProfilesOut is ListSecurityProfiles' answer.
type listProfilesOut struct {
	SecurityProfileIdentifiers []profileRef `json:"securityProfileIdentifiers"`
	NextToken                  string       `json:"nextToken,omitempty"`
}

func (s *server) listProfiles(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "security-profiles")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	metric, dimension := q.Get("metricName"), q.Get("dimensionName")
	if metric != "" && dimension != "" {
		return invalid("metricName and dimensionName cannot be used together")
	}
	profiles := slices.DeleteFunc(s.reg.Profiles(), func(p registry.Profile) bool {
		return (metric != "" && !slices.Contains(p.RetainedMetrics(), metric)) ||
			(dimension != "" && !slices.Contains(dimensionsOf(p), dimension))
	})
	items, next := paginate(profiles, func(p registry.Profile) string { return p.Name }, p)
	out := listProfilesOut{SecurityProfileIdentifiers: make([]profileRef, 0, len(items)), NextToken: next}
	for _, p := range items {
		out.SecurityProfileIdentifiers = append(out.SecurityProfileIdentifiers, profileRef{Name: p.Name, Arn: profileARN(p.Name)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// dimensionsOf lists the dimensions a profile's behaviors and retained
// metrics name.
func dimensionsOf(p registry.Profile) []string {
	var out []string
	for _, b := range p.Behaviors {
		if b.MetricDimension != nil {
			out = append(out, b.MetricDimension.DimensionName)
		}
	}
	for _, m := range p.AdditionalMetricsToRetainV2 {
		if m.MetricDimension != nil {
			out = append(out, m.MetricDimension.DimensionName)
		}
	}
	return out
}

// targetParam reads the securityProfileTargetArn query parameter.
func targetParam(r *http.Request) (registry.Target, error) {
	s, err := requiredParam(r, "securityProfileTargetArn")
	if err != nil {
		return "", err
	}
	return registry.ParseTarget(s)
}

func (s *server) attach(w http.ResponseWriter, r *http.Request) error {
	t, err := targetParam(r)
	if err != nil {
		return err
	}
	if err := s.svc.Attach(r.PathValue("name"), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *server) detach(w http.ResponseWriter, r *http.Request) error {
	t, err := targetParam(r)
	if err != nil {
		return err
	}
	if err := s.svc.Detach(r.PathValue("name"), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

// targetRef is a target as AWS lists it.
type targetRef struct {
	Arn string `json:"arn"`
}

// listTargetsOut is ListTargetsForSecurityProfile's answer.
type listTargetsOut struct {
	SecurityProfileTargets []targetRef `json:"securityProfileTargets"`
	NextToken              string      `json:"nextToken,omitempty"`
}

func (s *server) listTargets(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "security-profile-targets")
	if err != nil {
		return err
	}
	targets, err := s.reg.TargetsOf(r.PathValue("name"))
	if err != nil {
		return err
	}
	items, next := paginate(targets, func(t registry.Target) string { return string(t) }, p)
	out := listTargetsOut{SecurityProfileTargets: make([]targetRef, 0, len(items)), NextToken: next}
	for _, t := range items {
		out.SecurityProfileTargets = append(out.SecurityProfileTargets, targetRef{Arn: t.ARN()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// targetMapping is one profile attached to one target, as AWS lists it.
type targetMapping struct {
	SecurityProfileIdentifier profileRef `json:"securityProfileIdentifier"`
	Target                    targetRef  `json:"target"`
}

// profilesForTargetOut is ListSecurityProfilesForTarget's answer.
type profilesForTargetOut struct {
	SecurityProfileTargetMappings []targetMapping `json:"securityProfileTargetMappings"`
	NextToken                     string          `json:"nextToken,omitempty"`
}

func (s *server) profilesForTarget(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "security-profiles-for-target")
	if err != nil {
		return err
	}
	t, err := targetParam(r)
	if err != nil {
		return err
	}
	recursive, err := boolParam(r, "recursive")
	if err != nil {
		return err
	}
	if g, ok := t.Group(); ok {
		if _, _, exists := s.reg.Group(g); !exists {
			return notFound("thing group %q not found", g)
		}
	}
	mappings := s.reg.ProfilesForTarget(t, recursive != nil && *recursive)
	key := func(m registry.TargetMapping) string { return m.Profile + "\x00" + string(m.Target) }
	slices.SortFunc(mappings, func(a, b registry.TargetMapping) int { return strings.Compare(key(a), key(b)) })
	mappings = slices.CompactFunc(mappings, func(a, b registry.TargetMapping) bool { return a == b })
	items, next := paginate(mappings, key, p)
	out := profilesForTargetOut{SecurityProfileTargetMappings: make([]targetMapping, 0, len(items)), NextToken: next}
	for _, m := range items {
		out.SecurityProfileTargetMappings = append(out.SecurityProfileTargetMappings, targetMapping{
			SecurityProfileIdentifier: profileRef{Name: m.Profile, Arn: profileARN(m.Profile)},
			Target:                    targetRef{Arn: m.Target.ARN()},
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// validateBody is the body of ValidateSecurityProfileBehaviors.
type validateBody struct {
	Behaviors *[]proto.Behavior `json:"behaviors"`
}

// validationError is one problem found by ValidateSecurityProfileBehaviors.
type validationError struct {
	ErrorMessage string `json:"errorMessage"`
}

// validateOut is ValidateSecurityProfileBehaviors' answer.
type validateOut struct {
	Valid            bool              `json:"valid"`
	ValidationErrors []validationError `json:"validationErrors"`
}

func (s *server) validateBehaviors(w http.ResponseWriter, r *http.Request) error {
	var body validateBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if body.Behaviors == nil {
		return invalid("behaviors: is required")
	}
	problems := s.reg.ValidateBehaviors(*body.Behaviors)
	out := validateOut{Valid: len(problems) == 0, ValidationErrors: make([]validationError, 0, len(problems))}
	for _, p := range problems {
		out.ValidationErrors = append(out.ValidationErrors, validationError{ErrorMessage: p.Error()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
