package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// thingSecurityCmds are the thing commands of certificates, revocation and
// quarantine.
func thingSecurityCmds() []*cobra.Command {
	return []*cobra.Command{newThingCertCmd(), newThingCertsCmd(), newThingRevokeCmd(),
		newThingQuarantineCmd(), newThingReleaseCmd(), newThingQuarantinedCmd()}
}

// issuedCertificate is the part of the API's keys-and-certificate answer
// the files are written from.
type issuedCertificate struct {
	CertificateID    string `json:"certificateId"`
	CertificatePem   string `json:"certificatePem"`
	CACertificatePem string `json:"caCertificatePem"`
	KeyPair          struct {
		PrivateKey string `json:"PrivateKey"`
	} `json:"keyPair"`
}

func newThingCertCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "cert NAME",
		short: "Issue a key and a certificate for a thing, signed by Vigil's CA",
		long: "cert asks the server for a new key and certificate whose CN is the thing's name, signed by Vigil's own\n" +
			"CA (created on first use), and writes NAME.crt, NAME.key (mode 0600) and ca.crt into --out. The device\n" +
			"connects to the broker's TLS listener (--mqtts) with them, its client id being its name. The private key\n" +
			"is not kept by the server: keep the file. Existing files are never overwritten.",
		example: "  vigil thing cert cam-01 --out /etc/vigil-agent\n" +
			"  vigil-agent --broker mqtts://vigil.example.com:8883 --thing cam-01 --ca ca.crt --cert cam-01.crt --key cam-01.key",
		args: cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.String("out", ".", "directory to write NAME.crt, NAME.key and ca.crt into")
		},
		run: func(s *session, args []string) error {
			dir := mustString(s.cmd.Flags(), "out")
			files := certFiles(dir, args[0])
			for _, p := range files {
				if _, err := os.Stat(p); err == nil {
					return fmt.Errorf("%s exists; choose another --out or move it away", p)
				}
			}
			answer, err := s.api.post(s.ctx(), apiPath("things", args[0], "keys-and-certificate"), nil, nil)
			if err != nil {
				return err
			}
			var c issuedCertificate
			if err := json.Unmarshal(answer, &c); err != nil {
				return fmt.Errorf("the server's answer: %w", err)
			}
			if err := writeCertFiles(files, c); err != nil {
				return err
			}
			return s.done(answer, "issued certificate %s for %s: %s, %s, %s", c.CertificateID, args[0], files[0], files[1], files[2])
		},
	})
}

// certFiles are the certificate, key and CA files of a thing in dir.
func certFiles(dir, thing string) [3]string {
	return [3]string{filepath.Join(dir, thing+".crt"), filepath.Join(dir, thing+".key"), filepath.Join(dir, "ca.crt")}
}

// writeCertFiles writes the certificate, the key (0600) and the CA
// certificate, none of which may exist. The CA file may: it is the same
// for every thing, so it is left alone when present.
func writeCertFiles(files [3]string, c issuedCertificate) error {
	if err := os.MkdirAll(filepath.Dir(files[0]), 0o750); err != nil {
		return err
	}
	writes := []struct {
		path, data string
		perm       os.FileMode
	}{{files[1], c.KeyPair.PrivateKey, 0o600}, {files[0], c.CertificatePem, 0o644}, {files[2], c.CACertificatePem, 0o644}}
	for _, w := range writes {
		f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, w.perm)
		if errors.Is(err, os.ErrExist) && w.path == files[2] {
			continue
		}
		if err != nil {
			return err
		}
		_, err = f.WriteString(w.data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return nil
}

func newThingCertsCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "certs [NAME]",
		short:   "List the certificates Vigil's CA issued, of one thing or of all",
		example: "  vigil thing certs cam-01",
		args:    cobra.MaximumNArgs(1),
		run: func(s *session, args []string) error {
			q := url.Values{}
			if len(args) == 1 {
				q.Set("thingName", args[0])
			}
			list, err := s.api.listAll(s.ctx(), apiPath("certificates"), q, "certificates")
			if err != nil || s.json {
				return s.answer(list.json(), err)
			}
			items, err := decodeItems(list.items)
			if err != nil {
				return err
			}
			t := newTable("THING", "CERTIFICATE ID", "STATUS", "CREATED")
			for _, o := range items {
				t.row(o.text("thingName"), o.text("certificateId"), o.text("status"), o.time("creationDate"))
			}
			return t.write(s)
		},
	})
}

func newThingRevokeCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "revoke NAME",
		short: "Revoke a thing's credentials and disconnect it",
		long: "revoke removes a thing's password and revokes every certificate of it, and disconnects it. With --cert\n" +
			"only that certificate is revoked; with --password only the password is removed. Revocation is final.",
		example: "  vigil thing revoke cam-01\n  vigil thing revoke cam-01 --cert 3f2a...",
		args:    cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.String("cert", "", "revoke only this certificate (its id)")
			f.Bool("password", false, "remove only the password")
		},
		run: func(s *session, args []string) error {
			cert := mustString(s.cmd.Flags(), "cert")
			onlyPassword, _ := s.cmd.Flags().GetBool("password")
			switch {
			case cert != "" && onlyPassword:
				return usageErrorf("give --cert or --password, not both")
			case cert != "":
				answer, err := s.api.put(s.ctx(), apiPath("certificates", cert), url.Values{"newStatus": {"REVOKED"}}, nil)
				if err != nil {
					return err
				}
				return s.done(answer, "revoked certificate %s", cert)
			case onlyPassword:
				answer, err := s.api.put(s.ctx(), apiPath("things", args[0], "password"), nil, map[string]string{"password": ""})
				if err != nil {
					return err
				}
				return s.done(answer, "removed the password of %s", args[0])
			}
			answer, err := s.api.post(s.ctx(), apiPath("things", args[0], "revoke-credentials"), nil, nil)
			if err != nil {
				return err
			}
			var out struct {
				IDs      []string `json:"revokedCertificateIds"`
				Password bool     `json:"passwordRemoved"`
			}
			_ = json.Unmarshal(answer, &out) // only for the sentence; -o json prints the answer as it is
			return s.done(answer, "revoked the credentials of %s: %d certificate(s), password removed: %v", args[0], len(out.IDs), out.Password)
		},
	})
}

func newThingQuarantineCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "quarantine NAME",
		short: "Quarantine a thing: disconnect it, and let it only publish its reports",
		long: "quarantine puts a thing into the quarantine group, disconnects it, and lets it reconnect only to publish\n" +
			"its own reports (and read their replies), so it can still be watched. With --for it is released when that\n" +
			"time has passed; otherwise it stays until `vigil thing release`. Every quarantine and release is recorded.",
		example: "  vigil thing quarantine cam-01 --for 1h --reason 'unexpected port 6667'",
		args:    cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.Duration("for", 0, "time box: release after this long (0: until released)")
			f.String("group", "", "quarantine group (default: quarantine, created when missing)")
			f.String("reason", "", "why, for the record")
		},
		run: func(s *session, args []string) error {
			f := s.cmd.Flags()
			d, _ := f.GetDuration("for")
			if d < 0 || d%time.Second != 0 {
				return usageErrorf("--for %v: want a positive whole number of seconds, such as 90s or 1h", d)
			}
			body := map[string]any{"durationSeconds": int64(d / time.Second), "thingGroupName": mustString(f, "group"),
				"reason": mustString(f, "reason")}
			answer, err := s.api.put(s.ctx(), apiPath("things", args[0], "quarantine"), nil, body)
			if err != nil {
				return err
			}
			until := "until released"
			if d > 0 {
				until = "for " + d.String()
			}
			return s.done(answer, "quarantined %s %s", args[0], until)
		},
	})
}

func newThingReleaseCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "release NAME",
		short:   "End a thing's quarantine",
		example: "  vigil thing release cam-01",
		args:    cobra.ExactArgs(1),
		run: func(s *session, args []string) error {
			answer, err := s.api.delete(s.ctx(), apiPath("things", args[0], "quarantine"), nil)
			if err != nil {
				return err
			}
			return s.done(answer, "released %s", args[0])
		},
	})
}

func newThingQuarantinedCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:     "quarantined",
		short:   "List the quarantined things",
		example: "  vigil thing quarantined",
		args:    cobra.NoArgs,
		run: func(s *session, _ []string) error {
			answer, err := s.api.get(s.ctx(), apiPath("quarantined-things"), nil)
			if err != nil || s.json {
				return s.answer(answer, err)
			}
			o, err := decodeObject(answer)
			if err != nil {
				return err
			}
			t := newTable("THING", "GROUP", "SINCE", "UNTIL", "VIOLATION", "REASON").omitEmpty("VIOLATION", "REASON")
			list, _ := o.get("quarantinedThings").([]any)
			for _, v := range list {
				e, _ := asMap(v)
				until := e.time("quarantineEndTime")
				if until == "" {
					until = "released by hand"
				}
				t.row(e.text("thingName"), e.text("thingGroupName"), e.time("quarantineStartTime"), until,
					e.text("violationId"), e.text("reason"))
			}
			return t.write(s)
		},
	})
}
