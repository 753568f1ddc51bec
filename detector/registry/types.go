package registry

import (
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// Thing is a registered device.
type Thing struct {
	Name       string            `json:"thingName"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Version    int64             `json:"version"`
	Created    time.Time         `json:"creationDate"`
	// PasswordHash is the bcrypt hash of the thing's MQTT password, or "".
	PasswordHash string `json:"passwordHash,omitempty"`
}

// Group is a thing group; Parent is "" for a root group.
type Group struct {
	Name        string            `json:"thingGroupName"`
	Parent      string            `json:"parentGroupName,omitempty"`
	Description string            `json:"thingGroupDescription,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Version     int64             `json:"version"`
	Created     time.Time         `json:"creationDate"`
}

// CustomMetric is a metric devices report under custom_metrics.
type CustomMetric struct {
	Name        string                 `json:"metricName"`
	Type        proto.CustomMetricType `json:"metricType"`
	DisplayName string                 `json:"displayName,omitempty"`
	Created     time.Time              `json:"creationDate"`
	Modified    time.Time              `json:"lastModifiedDate"`
}

// AlertTarget is where a profile's violations are also sent. The map key
// in Profile.AlertTargets says its type: "MQTT" (Topic), "WEBHOOK" (URL and
// Secret) or "SNS" (AWS's fields, kept so AWS profiles round-trip).
type AlertTarget struct {
	Topic          string `json:"topic,omitempty"`
	URL            string `json:"url,omitempty"`
	Secret         string `json:"secret,omitempty"`
	AlertTargetArn string `json:"alertTargetArn,omitempty"`
	RoleArn        string `json:"roleArn,omitempty"`
}

// MetricToRetain names a metric whose datapoints are kept without a
// behavior checking it.
type MetricToRetain struct {
	Metric          string                 `json:"metric"`
	MetricDimension *proto.MetricDimension `json:"metricDimension,omitempty"`
	ExportMetric    *bool                  `json:"exportMetric,omitempty"`
}

// Tag is a key and value attached to a profile.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// MetricsExportConfig is AWS's metrics export setting, kept as given.
type MetricsExportConfig struct {
	MQTTTopic string `json:"mqttTopic"`
	RoleArn   string `json:"roleArn"`
}

// Profile is a security profile.
type Profile struct {
	Name                        string                 `json:"securityProfileName"`
	Description                 string                 `json:"securityProfileDescription,omitempty"`
	Behaviors                   []proto.Behavior       `json:"behaviors"`
	AlertTargets                map[string]AlertTarget `json:"alertTargets,omitempty"`
	AdditionalMetricsToRetain   []string               `json:"additionalMetricsToRetain,omitempty"`
	AdditionalMetricsToRetainV2 []MetricToRetain       `json:"additionalMetricsToRetainV2,omitempty"`
	MetricsExportConfig         *MetricsExportConfig   `json:"metricsExportConfig,omitempty"`
	Tags                        []Tag                  `json:"tags,omitempty"`
	Version                     int64                  `json:"version"`
	Created                     time.Time              `json:"creationDate"`
	Modified                    time.Time              `json:"lastModifiedDate"`
}

// ProfilePatch is an update of a profile: nil fields are left as they are;
// the Delete flags clear a field (giving a field and its Delete flag
// together is an error).
type ProfilePatch struct {
	Description                     *string
	Behaviors                       *[]proto.Behavior
	AlertTargets                    *map[string]AlertTarget
	AdditionalMetricsToRetain       *[]string
	AdditionalMetricsToRetainV2     *[]MetricToRetain
	MetricsExportConfig             *MetricsExportConfig
	DeleteBehaviors                 bool
	DeleteAlertTargets              bool
	DeleteAdditionalMetricsToRetain bool
	DeleteMetricsExportConfig       bool
	ExpectedVersion                 *int64
}
