package ftpd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files of the generated certificate, in CertDir.
const (
	certFileName = "ftp-cert.pem"
	keyFileName  = "ftp-key.pem"
	certLifetime = 5 * 365 * 24 * time.Hour
	certRenewal  = 30 * 24 * time.Hour // renewed when it expires sooner than this
)

// loadCertificate returns the configured certificate, or the self-signed one
// kept in certDir, generating it on first start (or when it is about to
// expire or no longer names publicHost).
func loadCertificate(cfg TLSConfig, certDir, publicHost string, log *slog.Logger) (tls.Certificate, error) {
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("load tls certificate: %w", err)
		}
		return cert, nil
	}
	certPath, keyPath := filepath.Join(certDir, certFileName), filepath.Join(certDir, keyFileName)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	switch {
	case err == nil:
		if why := unfit(cert.Leaf, publicHost); why == "" {
			return cert, nil
		} else {
			log.Info("renewing the generated FTP certificate", "reason", why, "path", certPath)
		}
	case errors.Is(err, fs.ErrNotExist):
		log.Info("generating a self-signed FTP certificate", "path", certPath)
	default:
		log.Warn("replacing an unreadable generated FTP certificate", "path", certPath, "err", err)
	}
	certPEM, keyPEM, err := selfSigned(publicHost, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("generate tls certificate: %w", err)
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("generate tls certificate: %w", err)
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("generate tls certificate: %w", err)
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate tls certificate: %w", err)
	}
	return cert, nil
}

// unfit says why a generated certificate must be replaced, or "".
func unfit(leaf *x509.Certificate, publicHost string) string {
	switch {
	case leaf == nil:
		return "no certificate"
	case time.Until(leaf.NotAfter) < certRenewal:
		return "it expires on " + leaf.NotAfter.Format(time.DateOnly)
	case publicHost == "":
		return ""
	}
	if ip := net.ParseIP(publicHost); ip != nil {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return "it does not name public_host " + publicHost
		}
	} else if !slices.Contains(leaf.DNSNames, publicHost) {
		return "it does not name public_host " + publicHost
	}
	return ""
}

// selfSigned makes an ECDSA P-256 certificate for localhost, 127.0.0.1, ::1
// and publicHost, as PEM.
func selfSigned(publicHost string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generate tls certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "storeagent FTP", Organization: []string{"TMAS store agent"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if publicHost != "" && publicHost != "localhost" {
		if ip := net.ParseIP(publicHost); ip != nil {
			if !ip.Equal(net.IPv4(127, 0, 0, 1)) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, publicHost)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate tls certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate tls key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic writes a file through a temporary name, fsynced, so that a
// crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
