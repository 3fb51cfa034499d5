package ftpd

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

const (
	maxBan          = 24 * time.Hour // the longest a repeated ban grows
	forgetBansAfter = 24 * time.Hour // a ban this long ago no longer makes the next one longer
	maxHosts        = 10000          // addresses remembered at most
)

// defender scores failed logins per client address and bans an address that
// reaches the threshold. Other addresses are never affected.
type defender struct {
	cfg DefenderConfig

	mu    sync.Mutex
	hosts map[netip.Addr]*hostScore
}

type hostScore struct {
	score       int
	lastFailure time.Time
	bannedUntil time.Time
	bans        int // bans so far, for the growth of the next one
}

func newDefender(cfg DefenderConfig) *defender {
	return &defender{cfg: cfg, hosts: map[netip.Addr]*hostScore{}}
}

// banned reports whether ip is banned now, and until when.
func (d *defender) banned(ip netip.Addr) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hosts[ip]
	if h == nil || !time.Now().Before(h.bannedUntil) {
		return time.Time{}, false
	}
	return h.bannedUntil, true
}

// fail records a failed login from ip. It returns the end of the ban when
// this failure starts one.
func (d *defender) fail(ip netip.Addr) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	h := d.hosts[ip]
	if h == nil {
		if len(d.hosts) >= maxHosts {
			d.prune(now)
		}
		h = &hostScore{}
		d.hosts[ip] = h
	}
	if now.Sub(h.lastFailure) > d.cfg.ObservationTime.D() {
		h.score = 0
	}
	if h.bans > 0 && now.Sub(h.bannedUntil) > forgetBansAfter {
		h.bans = 0
	}
	h.lastFailure = now
	h.score += d.cfg.LoginFailurePoints
	if h.score < d.cfg.Threshold {
		return time.Time{}, false
	}
	h.score = 0
	h.bannedUntil = now.Add(d.banLength(h.bans))
	h.bans++
	return h.bannedUntil, true
}

// banLength is BanTime × BanTimeGrowth^n, at most maxBan.
func (d *defender) banLength(n int) time.Duration {
	f := float64(d.cfg.BanTime.D()) * math.Pow(d.cfg.BanTimeGrowth, float64(n))
	if f > float64(maxBan) || math.IsInf(f, 0) || math.IsNaN(f) {
		return maxBan
	}
	return time.Duration(f)
}

// prune forgets addresses that are neither banned nor recently failing;
// if that is not enough, it forgets everything but the banned ones.
func (d *defender) prune(now time.Time) {
	for ip, h := range d.hosts {
		if now.After(h.bannedUntil.Add(forgetBansAfter)) && now.Sub(h.lastFailure) > d.cfg.ObservationTime.D() {
			delete(d.hosts, ip)
		}
	}
	if len(d.hosts) < maxHosts {
		return
	}
	for ip, h := range d.hosts {
		if !now.Before(h.bannedUntil) {
			delete(d.hosts, ip)
		}
	}
}
