package broker

import "strings"

// isAlertFilter reports whether filter stays among the alert topics of
// security profiles, which lie outside the $ topics: its first level is a
// plain name. No client publishes there (clients publish only reports), so
// only the detector's alerts match. "#" and "+/..." are not alert filters:
// they keep meaning "everything".
func isAlertFilter(filter string) bool {
	first, _, _ := strings.Cut(filter, "/")
	return first != "" && first != "+" && first != "#" && !strings.HasPrefix(first, "$")
}
