package api

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/detector/registry"
)

// The ARNs of resources, in AWS's form under Vigil's prefix.
func profileARN(name string) string      { return registry.ARNPrefix + "securityprofile/" + name }
func thingARN(name string) string        { return registry.ARNPrefix + "thing/" + name }
func groupARN(name string) string        { return registry.ARNPrefix + "thinggroup/" + name }
func customMetricARN(name string) string { return registry.ARNPrefix + "custommetric/" + name }

// nameFromARN returns the name of a resource of the given type ("thing",
// "thinggroup") from its ARN; any ARN prefix is accepted, so AWS ARNs work.
func nameFromARN(arn, resourceType string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", false
	}
	name, ok := strings.CutPrefix(parts[5], resourceType+"/")
	return name, ok && name != "" && !strings.Contains(name, "/")
}

// resourceID returns a stable id in UUID form for a thing or group: the
// same while the resource lives, a new one if it is deleted and created
// again.
func resourceID(kind, name string, created time.Time) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + name + "\x00" + strconv.FormatInt(created.UnixNano(), 10)))
	sum[6] = sum[6]&0x0f | 0x80 // version 8: a UUID whose bits the application defines
	sum[8] = sum[8]&0x3f | 0x80 // the RFC 9562 variant
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func thingID(t registry.Thing) string { return resourceID("thing", t.Name, t.Created) }
func groupID(g registry.Group) string { return resourceID("thinggroup", g.Name, g.Created) }
