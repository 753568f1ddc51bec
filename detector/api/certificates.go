package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-iot/vigil/detector/certauthority"
	"github.com/vigil-iot/vigil/detector/registry"
)

// Disconnector ends the MQTT connection of a thing whose credentials were
// revoked or which was quarantined.
type Disconnector interface {
	Disconnect(thing string) error
}

func (s *server) certificateRoutes() {
	if s.ca == nil {
		return
	}
	s.handle("POST /api/things/{name}/keys-and-certificate", s.createKeysAndCertificate)
	s.handle("GET /api/certificates", s.listCertificates)
	s.handle("GET /api/certificates/{id}", s.describeCertificate)
	s.handle("PUT /api/certificates/{id}", s.updateCertificate)
	s.handle("GET /api/ca-certificate", s.caCertificate)
	s.handle("POST /api/things/{name}/revoke-credentials", s.revokeCredentials)
}

// keyPair is AWS's KeyPair.
type keyPair struct {
	PublicKey  string `json:"PublicKey"`
	PrivateKey string `json:"PrivateKey"`
}

// keysAndCertificateOut is AWS's CreateKeysAndCertificate answer, plus the
// thing and the CA certificate a device needs to trust the broker.
type keysAndCertificateOut struct {
	CertificateArn   string  `json:"certificateArn"`
	CertificateID    string  `json:"certificateId"`
	CertificatePem   string  `json:"certificatePem"`
	KeyPair          keyPair `json:"keyPair"`
	ThingName        string  `json:"thingName"`
	CACertificatePem string  `json:"caCertificatePem"`
}

// certificateOut is one certificate in ListCertificates.
type certificateOut struct {
	CertificateArn string       `json:"certificateArn"`
	CertificateID  string       `json:"certificateId"`
	Status         string       `json:"status"`
	CreationDate   epochSeconds `json:"creationDate"`
	ThingName      string       `json:"thingName"`
}

// certificateDescription is DescribeCertificate's certificateDescription.
type certificateDescription struct {
	certificateOut
	CertificatePem   string       `json:"certificatePem"`
	LastModifiedDate epochSeconds `json:"lastModifiedDate"`
	SerialNumber     string       `json:"serialNumber"`
	Validity         validity     `json:"validity"`
}

type validity struct {
	NotBefore epochSeconds `json:"notBefore"`
	NotAfter  epochSeconds `json:"notAfter"`
}

func certificateARN(id string) string { return registry.ARNPrefix + "cert/" + id }

func toCertificateOut(r certauthority.Record) certificateOut {
	return certificateOut{CertificateArn: certificateARN(r.ID), CertificateID: r.ID, Status: string(r.Status),
		CreationDate: secondsOf(r.Created), ThingName: r.Thing}
}

// certError classifies the certificate authority's errors.
func certError(err error) error {
	switch {
	case errors.Is(err, certauthority.ErrNotFound):
		return notFound("%s", err.Error())
	case errors.Is(err, certauthority.ErrInvalid):
		return invalid("%s", err.Error())
	}
	return err
}

func (s *server) createKeysAndCertificate(w http.ResponseWriter, r *http.Request) error {
	thing := r.PathValue("name")
	if _, ok := s.reg.Thing(thing); !ok {
		return notFound("thing %q not found; create it first", thing)
	}
	if active, err := boolParam(r, "setAsActive"); err != nil {
		return err
	} else if active != nil && !*active {
		return invalid("setAsActive: Vigil issues certificates active; set a certificate INACTIVE with PUT /api/certificates/{id}")
	}
	issued, err := s.ca.Issue(thing, certauthority.IssueOptions{})
	if err != nil {
		return certError(err)
	}
	caPEM, err := s.ca.CACertificatePEM()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, keysAndCertificateOut{
		CertificateArn: certificateARN(issued.ID), CertificateID: issued.ID, CertificatePem: issued.CertificatePEM,
		KeyPair: keyPair{PublicKey: issued.PublicKeyPEM, PrivateKey: issued.PrivateKeyPEM}, ThingName: thing,
		CACertificatePem: string(caPEM),
	})
	return nil
}

func (s *server) listCertificates(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "certificates")
	if err != nil {
		return err
	}
	records := s.ca.Certificates(r.URL.Query().Get("thingName"))
	slices.SortFunc(records, func(a, b certauthority.Record) int { return strings.Compare(a.ID, b.ID) })
	page, next := paginate(records, func(c certauthority.Record) string { return c.ID }, p)
	out := struct {
		Certificates []certificateOut `json:"certificates"`
		NextToken    string           `json:"nextToken,omitempty"`
	}{Certificates: make([]certificateOut, 0, len(page)), NextToken: next}
	for _, c := range page {
		out.Certificates = append(out.Certificates, toCertificateOut(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) describeCertificate(w http.ResponseWriter, r *http.Request) error {
	c, ok := s.ca.Certificate(r.PathValue("id"))
	if !ok {
		return notFound("certificate %s not found", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, struct {
		Description certificateDescription `json:"certificateDescription"`
	}{certificateDescription{certificateOut: toCertificateOut(c), CertificatePem: c.CertificatePEM,
		LastModifiedDate: secondsOf(c.Modified), SerialNumber: c.Serial,
		Validity: validity{NotBefore: secondsOf(c.NotBefore), NotAfter: secondsOf(c.NotAfter)}}})
	return nil
}

// updateCertificate is AWS's UpdateCertificate: ?newStatus=ACTIVE,
// INACTIVE or REVOKED. A thing whose certificate stops being ACTIVE is
// disconnected.
func (s *server) updateCertificate(w http.ResponseWriter, r *http.Request) error {
	status, err := requiredParam(r, "newStatus")
	if err != nil {
		return err
	}
	c, err := s.ca.SetStatus(r.PathValue("id"), certauthority.Status(strings.ToUpper(status)))
	if err != nil {
		return certError(err)
	}
	if c.Status != certauthority.Active {
		s.disconnect(c.Thing)
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *server) caCertificate(w http.ResponseWriter, _ *http.Request) error {
	caPEM, err := s.ca.CACertificatePEM()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		CertificatePem string `json:"certificatePem"`
	}{string(caPEM)})
	return nil
}

// revokeCredentialsOut says what POST /api/things/{name}/revoke-credentials
// revoked.
type revokeCredentialsOut struct {
	RevokedCertificateIDs []string `json:"revokedCertificateIds"`
	PasswordRemoved       bool     `json:"passwordRemoved"`
}

// revokeCredentials revokes every credential of a thing, its password and
// its certificates, and disconnects it.
func (s *server) revokeCredentials(w http.ResponseWriter, r *http.Request) error {
	thing := r.PathValue("name")
	t, ok := s.reg.Thing(thing)
	if !ok {
		return notFound("thing %q not found", thing)
	}
	out := revokeCredentialsOut{RevokedCertificateIDs: []string{}}
	if t.PasswordHash != "" {
		if err := s.svc.SetThingPassword(thing, ""); err != nil {
			return err
		}
		out.PasswordRemoved = true
	}
	revoked, err := s.ca.RevokeThing(thing)
	for _, c := range revoked {
		out.RevokedCertificateIDs = append(out.RevokedCertificateIDs, c.ID)
	}
	s.disconnect(thing)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// disconnect ends a thing's connection, when there is a broker and one.
func (s *server) disconnect(thing string) {
	if s.disconnector == nil {
		return
	}
	if err := s.disconnector.Disconnect(thing); err != nil {
		s.log.Debug().Err(err).Str("thing", thing).Msg("not disconnected")
	}
}

// forgetCredentials revokes the certificates of a deleted thing, so that
// they do not come back to life if the name is registered again (its
// password went with it), ends its quarantine, and disconnects it.
func (s *server) forgetCredentials(thing string) {
	if s.ca != nil {
		if _, err := s.ca.RevokeThing(thing); err != nil {
			s.log.Error().Err(err).Str("thing", thing).Msg("revoke the certificates of a deleted thing")
		}
	}
	if s.mitigation != nil && s.mitigation.Quarantined(thing) {
		if _, err := s.mitigation.Release(thing, "thing deleted"); err != nil {
			s.log.Error().Err(err).Str("thing", thing).Msg("release a deleted thing")
		}
	}
	s.disconnect(thing)
}
