package service

import (
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
)

// CreateDimension defines a topic-filter dimension.
func (s *Service) CreateDimension(d registry.Dimension) (registry.Dimension, error) {
	var out registry.Dimension
	err := s.change(false, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		var err error
		out, err = s.reg.CreateDimension(b, now, d)
		return nil, err
	})
	return out, err
}

// UpdateDimension replaces a dimension's topic filters; the broker counts
// with the new ones from then on.
func (s *Service) UpdateDimension(name string, values []string) (registry.Dimension, error) {
	var out registry.Dimension
	err := s.change(false, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		var err error
		if out, err = s.reg.UpdateDimension(b, now, name, values); err != nil {
			return nil, err
		}
		s.syncBrokerDimensions()
		return nil, nil
	})
	return out, err
}

// DeleteDimension deletes a dimension no profile uses.
func (s *Service) DeleteDimension(name string) error {
	return s.change(false, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		return nil, s.reg.DeleteDimension(b, name)
	})
}
