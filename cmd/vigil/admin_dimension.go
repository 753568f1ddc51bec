package main

import (
	"net/url"

	"github.com/spf13/pflag"
)

// addDimensionFlags adds the flags that narrow a broker-side metric to a
// topic-filter dimension.
func addDimensionFlags(f *pflag.FlagSet) {
	f.String("dimension", "", "topic-filter dimension narrowing a broker-side metric (aws:num-messages-sent, ...)")
	f.String("dimension-operator", "", "IN (the default) or NOT_IN: the messages matching the dimension, or the others")
}

// dimensionParams adds --dimension and --dimension-operator to a metric
// query, as dimensionName and dimensionValueOperator.
func dimensionParams(f *pflag.FlagSet, q url.Values) {
	if d := mustString(f, "dimension"); d != "" {
		q.Set("dimensionName", d)
	}
	if op := mustString(f, "dimension-operator"); op != "" {
		q.Set("dimensionValueOperator", op)
	}
}
