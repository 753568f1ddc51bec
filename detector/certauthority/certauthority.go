package certauthority

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// Defaults of Options and of the certificates the authority issues.
const (
	// DefaultValidity is how long a thing's certificate is valid.
	DefaultValidity = 5 * 365 * 24 * time.Hour
	// DefaultCAValidity is how long the CA certificate created on first use
	// is valid.
	DefaultCAValidity = 20 * 365 * 24 * time.Hour
	// DefaultServerValidity is how long a server certificate is valid.
	DefaultServerValidity = 365 * 24 * time.Hour
	// backdate covers clocks that are a little behind the server's.
	backdate = 5 * time.Minute
)

// The files of the CA in Options.Dir.
const (
	KeyFile  = "ca.key"
	CertFile = "ca.crt"
)

// Certificates is the store kind of the records of issued certificates,
// named by certificate id.
const Certificates store.Kind = "certificate"

// Status is the state of an issued certificate, as AWS IoT names it.
type Status string

// The statuses. REVOKED is final.
const (
	Active   Status = "ACTIVE"
	Inactive Status = "INACTIVE"
	Revoked  Status = "REVOKED"
)

// Errors of Check, Issue and SetStatus, matched with errors.Is.
var (
	ErrUnknownCA   = errors.New("certificate is not signed by Vigil's CA")
	ErrExpired     = errors.New("certificate has expired or is not yet valid")
	ErrUnrecorded  = errors.New("certificate was not issued by this authority")
	ErrRevoked     = errors.New("certificate is revoked")
	ErrInactive    = errors.New("certificate is inactive")
	ErrNotFound    = errors.New("certificate not found")
	ErrInvalid     = errors.New("invalid request")
	ErrBadCertData = errors.New("certificate cannot be used")
)

// Options configure Open. Dir and DB are required.
type Options struct {
	// Dir holds the CA's key and certificate; they are created there on
	// first use.
	Dir string
	// DB keeps the records of issued certificates.
	DB *store.DB
	// Validity of a thing's certificate; DefaultValidity when 0.
	Validity time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Record is what the authority keeps of an issued certificate.
type Record struct {
	ID             string    `json:"certificateId"`
	Thing          string    `json:"thingName"`
	Serial         string    `json:"serialNumber"`
	Status         Status    `json:"status"`
	Created        time.Time `json:"creationDate"`
	Modified       time.Time `json:"lastModifiedDate"`
	NotBefore      time.Time `json:"notBefore"`
	NotAfter       time.Time `json:"notAfter"`
	CertificatePEM string    `json:"certificatePem"`
}

// Issued is a new certificate with its private key, which is not kept.
type Issued struct {
	Record
	PrivateKeyPEM string
	PublicKeyPEM  string
}

// Authority is Vigil's certificate authority.
type Authority struct {
	opts Options

	camu    sync.Mutex // guards the CA below, which exists once ready
	ready   bool
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	pool    *x509.CertPool

	mu      sync.RWMutex
	records map[string]*Record // by certificate id
}

// Open loads the CA from Options.Dir, if it holds one (it is created on
// first use otherwise), and the records of issued certificates from the
// store.
func Open(opts Options) (*Authority, error) {
	if opts.Dir == "" || opts.DB == nil {
		return nil, errors.New("open certificate authority: Dir and DB are required")
	}
	if opts.Validity <= 0 {
		opts.Validity = DefaultValidity
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Authority{opts: opts, records: map[string]*Record{}}
	if err := a.loadIfPresent(); err != nil {
		return nil, fmt.Errorf("open certificate authority in %s: %w", opts.Dir, err)
	}
	err := opts.DB.Scan(Certificates, "", func(name string, data []byte) error {
		r := &Record{}
		if err := json.Unmarshal(data, r); err != nil {
			return fmt.Errorf("decode certificate %s: %w", name, err)
		}
		a.records[r.ID] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load certificate records: %w", err)
	}
	return a, nil
}

// paths returns the paths of the CA's key and certificate.
func (a *Authority) paths() (keyPath, certPath string) {
	return filepath.Join(a.opts.Dir, KeyFile), filepath.Join(a.opts.Dir, CertFile)
}

// loadIfPresent reads ca.key and ca.crt when both exist. One without the
// other is an error: it is never overwritten.
func (a *Authority) loadIfPresent() error {
	keyPath, certPath := a.paths()
	_, kerr := os.Stat(keyPath)
	_, cerr := os.Stat(certPath)
	switch {
	case errors.Is(kerr, os.ErrNotExist) && errors.Is(cerr, os.ErrNotExist):
		return nil
	case errors.Is(kerr, os.ErrNotExist):
		return fmt.Errorf("%s exists without %s", CertFile, KeyFile)
	case errors.Is(cerr, os.ErrNotExist):
		return fmt.Errorf("%s exists without %s", KeyFile, CertFile)
	}
	return a.load(keyPath, certPath)
}

func (a *Authority) load(keyPath, certPath string) error {
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("%s and %s: %w", CertFile, KeyFile, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return fmt.Errorf("%s: the CA key must be ECDSA", KeyFile)
	}
	if !pair.Leaf.IsCA {
		return fmt.Errorf("%s: not a CA certificate", CertFile)
	}
	a.key, a.cert, a.certPEM = key, pair.Leaf, certPEM
	a.pool = x509.NewCertPool()
	a.pool.AddCert(a.cert)
	a.ready = true
	return nil
}

// ensure creates the CA if it does not exist yet; a.camu is held.
func (a *Authority) ensure() error {
	if a.ready {
		return nil
	}
	keyPath, certPath := a.paths()
	if err := a.create(keyPath, certPath); err != nil {
		return fmt.Errorf("create certificate authority in %s: %w", a.opts.Dir, err)
	}
	return nil
}

// ca returns the CA, creating it on first use.
func (a *Authority) ca() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	a.camu.Lock()
	defer a.camu.Unlock()
	if err := a.ensure(); err != nil {
		return nil, nil, err
	}
	return a.cert, a.key, nil
}

func (a *Authority) create(keyPath, certPath string) error {
	if err := os.MkdirAll(a.opts.Dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := a.opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(), Subject: pkix.Name{CommonName: "Vigil CA", Organization: []string{"Vigil"}},
		NotBefore: now.Add(-backdate), NotAfter: now.Add(DefaultCAValidity),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFile(certPath, certPEM, 0o644); err != nil {
		return err
	}
	return a.load(keyPath, certPath)
}

// writeFile writes a new file, never replacing one.
func writeFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// newSerial returns a random 128-bit serial number.
func newSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

// CACertificatePEM returns the CA certificate, PEM encoded: what devices
// trust to verify the broker, and what verifies their certificates. It
// creates the CA on first use.
func (a *Authority) CACertificatePEM() ([]byte, error) {
	a.camu.Lock()
	defer a.camu.Unlock()
	if err := a.ensure(); err != nil {
		return nil, err
	}
	return slices.Clone(a.certPEM), nil
}

// Pool returns a pool holding the CA certificate, creating the CA on first
// use.
func (a *Authority) Pool() (*x509.CertPool, error) {
	a.camu.Lock()
	defer a.camu.Unlock()
	if err := a.ensure(); err != nil {
		return nil, err
	}
	return a.pool, nil
}

// existingPool returns the CA's pool, or nil before the CA exists.
func (a *Authority) existingPool() *x509.CertPool {
	a.camu.Lock()
	defer a.camu.Unlock()
	return a.pool
}

// IssueOptions narrow Issue.
type IssueOptions struct {
	// NotBefore and NotAfter set the validity; zero values mean from now
	// (backdated a few minutes) for Options.Validity.
	NotBefore, NotAfter time.Time
}

// Issue creates a key and a certificate for a thing, records it as ACTIVE,
// and returns both. The certificate's common name is the thing name.
func (a *Authority) Issue(thing string, o IssueOptions) (Issued, error) {
	if err := proto.ValidateThingName(thing); err != nil {
		return Issued{}, fmt.Errorf("%w: thingName: %w", ErrInvalid, err)
	}
	now := a.opts.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-backdate)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(a.opts.Validity)
	}
	if !o.NotAfter.After(o.NotBefore) {
		return Issued{}, fmt.Errorf("%w: validity ends before it starts", ErrInvalid)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, fmt.Errorf("issue certificate for %q: %w", thing, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(), Subject: pkix.Name{CommonName: thing},
		NotBefore: o.NotBefore, NotAfter: o.NotAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	certPEM, keyPEM, pubPEM, err := a.sign(tmpl, key)
	if err != nil {
		return Issued{}, fmt.Errorf("issue certificate for %q: %w", thing, err)
	}
	r := Record{ID: fingerprint(certPEM), Thing: thing, Serial: hex.EncodeToString(tmpl.SerialNumber.Bytes()),
		Status: Active, Created: now.UTC(), Modified: now.UTC(), NotBefore: o.NotBefore.UTC(), NotAfter: o.NotAfter.UTC(),
		CertificatePEM: string(certPEM)}
	if err := a.save(&r); err != nil {
		return Issued{}, fmt.Errorf("issue certificate for %q: %w", thing, err)
	}
	return Issued{Record: r, PrivateKeyPEM: string(keyPEM), PublicKeyPEM: string(pubPEM)}, nil
}

// sign signs a certificate for key with the CA, and returns the
// certificate, the private key and the public key, PEM encoded.
func (a *Authority) sign(tmpl *x509.Certificate, key *ecdsa.PrivateKey) (certPEM, keyPEM, pubPEM []byte, err error) {
	caCert, caKey, err := a.ca()
	if err != nil {
		return nil, nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
}

// fingerprint is the certificate id: the hex SHA-256 of the DER.
func fingerprint(certPEM []byte) string {
	block, _ := pem.Decode(certPEM)
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:])
}

// save stores a record and keeps it in memory.
func (a *Authority) save(r *Record) error {
	b := a.opts.DB.NewBatch()
	b.Put(Certificates, r.ID, r)
	if err := a.opts.DB.Commit(b); err != nil {
		return err
	}
	a.mu.Lock()
	a.records[r.ID] = r
	a.mu.Unlock()
	return nil
}

// ServerCertificate issues a certificate for a TLS server known by hosts
// (DNS names or IP addresses). It is not recorded: it is made again at
// each start.
func (a *Authority) ServerCertificate(hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	now := a.opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(), Subject: pkix.Name{CommonName: "Vigil broker"},
		NotBefore: now.Add(-backdate), NotAfter: now.Add(DefaultServerValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certPEM, keyPEM, _, err := a.sign(tmpl, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// Certificate returns the record of a certificate by id.
func (a *Authority) Certificate(id string) (Record, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	r := a.records[strings.ToLower(id)]
	if r == nil {
		return Record{}, false
	}
	return *r, true
}

// Certificates lists the records of a thing's certificates ("" for every
// thing's), oldest first.
func (a *Authority) Certificates(thing string) []Record {
	a.mu.RLock()
	out := make([]Record, 0, len(a.records))
	for _, r := range a.records {
		if thing == "" || r.Thing == thing {
			out = append(out, *r)
		}
	}
	a.mu.RUnlock()
	slices.SortFunc(out, func(x, y Record) int {
		if c := x.Created.Compare(y.Created); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// SetStatus changes the status of a certificate. A revoked certificate
// stays revoked.
func (a *Authority) SetStatus(id string, status Status) (Record, error) {
	switch status {
	case Active, Inactive, Revoked:
	default:
		return Record{}, fmt.Errorf("%w: newStatus: %q must be ACTIVE, INACTIVE or REVOKED", ErrInvalid, status)
	}
	r, ok := a.Certificate(id)
	if !ok {
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if r.Status == Revoked && status != Revoked {
		return Record{}, fmt.Errorf("%w: certificate %s is revoked; revocation is final", ErrInvalid, id)
	}
	r.Status, r.Modified = status, a.opts.Now().UTC()
	if err := a.save(&r); err != nil {
		return Record{}, fmt.Errorf("set status of certificate %s: %w", id, err)
	}
	return r, nil
}

// RevokeThing revokes every certificate of a thing that is not revoked
// yet, and returns the ones it revoked.
func (a *Authority) RevokeThing(thing string) ([]Record, error) {
	var out []Record
	for _, r := range a.Certificates(thing) {
		if r.Status == Revoked {
			continue
		}
		r, err := a.SetStatus(r.ID, Revoked)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Check decides whether a client certificate is good now: signed by the
// CA, within its validity, issued by this authority and ACTIVE. It returns
// the thing the certificate names (its common name), which is set even
// when the certificate is refused, so that the refusal can be counted.
func (a *Authority) Check(cert *x509.Certificate) (thing string, err error) {
	if cert == nil {
		return "", ErrBadCertData
	}
	thing = cert.Subject.CommonName
	pool := a.existingPool()
	if pool == nil {
		return thing, fmt.Errorf("%w: Vigil has issued no certificate yet", ErrUnknownCA)
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: a.opts.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		var invalid x509.CertificateInvalidError
		if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
			return thing, fmt.Errorf("%w: %w", ErrExpired, err)
		}
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return thing, fmt.Errorf("%w: %w", ErrUnknownCA, err)
		}
		return thing, fmt.Errorf("%w: %w", ErrBadCertData, err)
	}
	sum := sha256.Sum256(cert.Raw)
	r, ok := a.Certificate(hex.EncodeToString(sum[:]))
	switch {
	case !ok:
		return thing, ErrUnrecorded
	case r.Status == Revoked:
		return thing, ErrRevoked
	case r.Status == Inactive:
		return thing, ErrInactive
	case r.Thing != thing:
		return thing, ErrUnrecorded
	}
	return thing, nil
}
