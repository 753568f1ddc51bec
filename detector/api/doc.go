// Package api is the HTTP API of the detector (vigil serve, vigil detect):
// the AWS IoT Device Defender Detect REST calls under /api, with AWS's
// paths, JSON bodies and answers, so that AWS CLI input files
// (--cli-input-json) and scripts written for AWS work against Vigil. It
// also serves /healthz, /metrics (Prometheus) and, at "/", the dashboard
// or a plain index of the API.
//
// # Semantics
//
//   - Calls: security profiles (create, update, describe, delete, list,
//     attach, detach, list targets, profiles for a target, validate
//     behaviors), things (create, describe, delete, list, and Vigil's
//     PUT /api/things/{name}/password), thing groups (create, describe,
//     delete, list, add and remove things, list a group's things), custom
//     metrics (create, describe, delete, list) and violations (active
//     violations, violation events, verification state).
//   - Bodies are AWS's. A resource's name is in the path; the copy that AWS
//     CLI input files carry in the body (securityProfileName, thingName,
//     thingGroupName, metricName, violationId) must equal it. UpdateSecurity
//     Profile also takes expectedVersion from the body, as those files hold
//     it; given in both places, the two must agree.
//   - A body member the call does not know is refused with 400, naming its
//     path (behaviors[0].criteria.valeu), to catch typos. Members that AWS
//     accepts but Vigil has no use for are read and ignored: thingTypeName,
//     billingGroupName and attributePayload.merge (CreateThing), tags
//     (CreateThingGroup, CreateCustomMetric), clientRequestToken
//     (CreateCustomMetric) and overrideDynamicGroups (AddThingToThingGroup,
//     RemoveThingFromThingGroup). Profile tags are kept.
//   - Vigil's additions: CreateThing takes "password" (stored hashed, never
//     returned; "" or absent means none); DescribeThing adds "thingGroups",
//     the groups the thing is directly in; violation events carry
//     violationStartTime; statistical behaviors' records carry
//     statisticalThreshold; GET /api/violation-events/stream serves the
//     violation events as they are published (server-sent events, see
//     ViolationFeed); GET /api/fleet-summary gives the counts of the
//     dashboard's overview and the service clock.
//   - Times in answers are epoch seconds with a fraction (1600780245.29),
//     as AWS REST APIs write them. startTime and endTime of
//     /api/violation-events take epoch seconds (a fraction allowed) or RFC
//     3339, which is how the AWS CLI sends them.
//   - Errors have AWS's shape, {"message": "..."}, with the AWS error type
//     in the x-amzn-ErrorType header: 400 InvalidRequestException (bad JSON,
//     with the byte offset; wrong types, with the field; invalid values;
//     bad parameters or tokens), 404 ResourceNotFoundException, 409
//     ResourceAlreadyExistsException (with resourceId and resourceArn), 409
//     VersionConflictException, 410 LimitExceededException, 413
//     InvalidRequestException for bodies over MaxBodyBytes, and 500
//     InternalFailureException (logged, details withheld). Deleting a custom
//     metric that a profile still uses is 409 DeleteConflictException, the
//     AWS IoT type for "still referenced". A path no call takes is 404
//     UnknownOperationException; a known path with another method is 405
//     MethodNotAllowedException with an Allow header.
//   - Every list takes maxResults (1 to MaxMaxResults, default
//     DefaultMaxResults) and nextToken. Tokens are opaque (base64) and
//     belong to one listing; a token from elsewhere is 400. Lists are in
//     name order (active violations by profile, thing, behavior; events by
//     time), and a page starts after the last key of the previous one, so
//     items created or deleted between pages neither repeat nor shift the
//     rest.
//   - ARNs have the form arn:vigil:iot:local:000000000000:{type}/{name}.
//     Where an ARN is read (targets, thing groups and things in
//     membership calls), any ARN that ends in the right {type}/{name} is
//     accepted, so AWS ARNs work as they are.
//   - Thing and group ids are UUIDs derived from the name and creation
//     time: stable while the resource exists, new when it is created again.
//
// # Caveats
//
// With Options.Tokens, /api and /metrics need "Authorization: Bearer
// TOKEN": an admin token may call everything, a read-only token only GET
// and HEAD (and behavior validation); a missing or unknown token is 401
// UnauthorizedException, a read-only token on a change 403
// ForbiddenException. /healthz and the dashboard's static files need none.
// Browsers sign in at SessionPath instead (session.go): the token buys an
// HttpOnly, SameSite=Strict cookie holding an HMAC-signed role and expiry,
// which stands for the token until it expires or is signed out; a change
// made with the cookie must carry RequestHeader, against cross-site
// requests.
// Without tokens, the API is open: CheckExposure refuses that on anything
// but a loopback address. Alert targets are returned as stored, webhook
// secrets included, so that a described profile can be applied again: give
// read-only tokens to those who may see them.
//
// The expectedVersion check of DeleteThing and DeleteThingGroup is made
// before the delete, not atomically with it; profiles check it atomically.
//
// ListThings filters on attributeName, attributeValue and
// usePrefixAttributeValue, and ignores thingTypeName; ListThingGroups
// lists every group unless parentGroup is given (its children; with
// recursive=true, every group below it).
package api
