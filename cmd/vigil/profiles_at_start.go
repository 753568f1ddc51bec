package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
)

// readProfileFile reads a security profile in AWS's JSON shape, or the same
// in YAML.
func readProfileFile(path string) (registry.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return registry.Profile{}, fmt.Errorf("read profile: %w", err)
	}
	if data, err = yaml.YAMLToJSON(data); err != nil {
		return registry.Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	var p registry.Profile
	if err := json.Unmarshal(data, &p); err != nil {
		return registry.Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	if p.Name == "" {
		return registry.Profile{}, fmt.Errorf("profile %s: securityProfileName is required", path)
	}
	return p, nil
}

// applyProfiles creates or updates each profile file and attaches every
// profile that has no target to all things.
func applyProfiles(svc *service.Service, paths []string) error {
	for _, path := range paths {
		p, err := readProfileFile(path)
		if err != nil {
			return err
		}
		if _, err := svc.CreateProfile(p); errors.Is(err, registry.ErrExists) {
			_, err = svc.UpdateProfile(p.Name, registry.ProfilePatch{
				Description: &p.Description, Behaviors: &p.Behaviors, AlertTargets: &p.AlertTargets,
				AdditionalMetricsToRetain: &p.AdditionalMetricsToRetain, AdditionalMetricsToRetainV2: &p.AdditionalMetricsToRetainV2,
			})
			if err != nil {
				return fmt.Errorf("profile %s: %w", path, err)
			}
		} else if err != nil {
			return fmt.Errorf("profile %s: %w", path, err)
		}
		targets, err := svc.Registry().TargetsOf(p.Name)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			if err := svc.Attach(p.Name, registry.AllThings); err != nil {
				return fmt.Errorf("attach %s to all things: %w", p.Name, err)
			}
		}
	}
	return nil
}
