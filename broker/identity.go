package broker

import (
	"cmp"
	"crypto/x509"
	"errors"
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/vigil-iot/vigil/proto"
)

// Role is what a connected client is allowed to do.
type Role uint8

// The roles. The zero value is RoleDevice, the least privileged.
const (
	// RoleDevice is a thing: it publishes its own reports and reads its own
	// replies.
	RoleDevice Role = iota
	// RoleFleet publishes reports for any thing and reads any reply: a
	// simulator, or a gateway that speaks for the devices behind it.
	RoleFleet
	// RoleOperator reads the violation topics and $SYS, and publishes
	// nothing.
	RoleOperator
)

// String returns the role's name.
func (r Role) String() string {
	switch r {
	case RoleDevice:
		return "device"
	case RoleFleet:
		return "fleet"
	case RoleOperator:
		return "operator"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Identity is who a connected client is.
type Identity struct {
	// Thing is the thing name of a device, or the name of a fleet or
	// operator identity.
	Thing string
	// Role says what the client may do.
	Role Role
}

// Authenticator decides who a connecting client is, from the client id,
// username and password of its CONNECT packet. The password is nil when the
// client sent none.
//
// It returns ErrUnknownThing when no thing or identity of that name is
// registered (the broker then keeps no counters for the name, so that a scan
// of random client ids cannot grow its tables), and ErrBadCredentials when the
// name is known but the password does not match or is missing. Any other
// error refuses the client too, and is logged.
type Authenticator interface {
	Authenticate(clientID, username string, password []byte) (Identity, error)
}

// Errors an Authenticator returns, and the broker's own.
var (
	// ErrBadCredentials means the password is wrong or missing.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrUnknownThing means no thing or identity of that name is registered.
	ErrUnknownThing = errors.New("unknown thing")
	// ErrNotConnected means no client of that id is connected.
	ErrNotConnected = errors.New("client not connected")
)

// Reasons for refusing a connection, for the logs.
var (
	errAnonymous     = errors.New("anonymous clients are not allowed")
	errUncheckable   = errors.New("password of an unknown client cannot be checked")
	errClientID      = errors.New("client id must equal the thing name")
	errUsername      = errors.New("username must equal the client id")
	errReservedID    = errors.New("client id is reserved by the broker")
	errRole          = errors.New("authenticator returned an unknown role")
	errWillForbidden = errors.New("will topic is not one the client may publish to")
	errAuthenticator = errors.New("authenticator failed")
)

// session is an authenticated client: its identity and how it got it.
type session struct {
	Identity
	// anonymous is a device admitted without credentials; it may also read
	// the violation topics, so that a demo works with mosquitto_sub.
	anonymous bool
	cl        *mqtt.Client
	// quarantine tells whether the session's thing is quarantined now.
	quarantine Quarantine
	// stats are the counters of the identity, set once it is admitted.
	stats *counters
}

// identifier turns CONNECT packets into sessions.
type identifier struct {
	auth           Authenticator
	allowAnonymous bool
	certs          CertificateChecker
	quarantine     Quarantine
}

// identify decides who sent a CONNECT, and over TLS with which client
// certificate (nil for none). It also returns the name that the attempt is
// counted under: the identity the Authenticator returned or the
// certificate named, else the name the client claimed, or "" when that
// name is unknown or invalid and must not be counted.
func (id identifier) identify(c packets.ConnectParams, cert *x509.Certificate) (s *session, counted string, err error) {
	if err := checkClientID(c.ClientIdentifier); err != nil {
		return nil, "", err
	}
	if cert != nil {
		s, counted, err = id.byCertificate(c, cert)
	} else {
		s, counted, err = id.byPassword(c)
	}
	if s != nil {
		s.quarantine = id.quarantine
	}
	return s, counted, err
}

// byPassword identifies a client by its CONNECT's client id, username and
// password.
func (id identifier) byPassword(c packets.ConnectParams) (s *session, counted string, err error) {
	clientID, username := c.ClientIdentifier, string(c.Username)
	if id.auth == nil {
		return id.anonymous(c, errAnonymous)
	}
	ident, err := id.auth.Authenticate(clientID, username, password(c))
	claimed := cmp.Or(username, clientID)
	switch {
	case err == nil:
		return &session{Identity: ident}, cmp.Or(ident.Thing, claimed), checkIdentity(ident, clientID, username)
	case errors.Is(err, ErrUnknownThing):
		return id.anonymous(c, err)
	case errors.Is(err, ErrBadCredentials):
		return nil, claimed, err
	}
	return nil, claimed, fmt.Errorf("%w: %w", errAuthenticator, err)
}

// anonymous admits a client that no Authenticator knows as an anonymous
// device, if that is allowed and the client sent no password; otherwise it
// refuses the client, with refusal when anonymous clients are not allowed.
func (id identifier) anonymous(c packets.ConnectParams, refusal error) (*session, string, error) {
	switch username := string(c.Username); {
	case !id.allowAnonymous:
		return nil, "", refusal
	case c.PasswordFlag:
		return nil, "", errUncheckable
	case username != "" && username != c.ClientIdentifier:
		return nil, "", errUsername
	}
	return &session{Identity: Identity{Thing: c.ClientIdentifier, Role: RoleDevice}, anonymous: true}, c.ClientIdentifier, nil
}

// password returns the CONNECT's password, or nil when it has none.
func password(c packets.ConnectParams) []byte {
	if !c.PasswordFlag {
		return nil
	}
	if c.Password == nil {
		return []byte{}
	}
	return c.Password
}

// checkClientID refuses client ids that cannot name a thing in a topic, and
// the id of the broker's own inline client.
func checkClientID(clientID string) error {
	if clientID == mqtt.InlineClientId {
		return errReservedID
	}
	if err := proto.ValidateThingName(clientID); err != nil {
		return fmt.Errorf("client id: %w", err)
	}
	return nil
}

// checkIdentity applies the identity rules to what the Authenticator said:
// a device's client id is its thing name, and its username, when given, is
// the same name. Fleet and operator identities choose their client ids.
func checkIdentity(ident Identity, clientID, username string) error {
	if err := proto.ValidateThingName(ident.Thing); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	switch ident.Role {
	case RoleDevice:
		if ident.Thing != clientID {
			return errClientID
		}
		if username != "" && username != clientID {
			return errUsername
		}
		return nil
	case RoleFleet, RoleOperator:
		return nil
	}
	return errRole
}
