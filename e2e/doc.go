// Package e2e holds end-to-end tests of the vigil binaries: they build
// `vigil`, run `vigil serve` as a real process, and talk to it with clients
// not written here (mosquitto_pub and mosquitto_sub) and over HTTP.
package e2e
