package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"estatecrm/throttle"
)

func TestConfigLimits(t *testing.T) {
	cfg, err := loadConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UserRateLimit != throttle.PerMinute(12000) || cfg.AnonymousRateLimit != throttle.PerMinute(600) ||
		len(cfg.TrustedProxies) != 0 || cfg.PasswordHashConcurrency != 0 {
		t.Fatalf("defaults: %+v %+v %v %d", cfg.UserRateLimit, cfg.AnonymousRateLimit, cfg.TrustedProxies, cfg.PasswordHashConcurrency)
	}
	cfg, err = loadConfig([]string{"-anonymous-rate-limit", "5/15m"}, env(map[string]string{
		"USER_RATE_LIMIT": "0", "ANONYMOUS_RATE_LIMIT": "60", "TRUSTED_PROXIES": "10.0.0.0/8", "PASSWORD_HASH_CONCURRENCY": "3",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.UserRateLimit.Off() || cfg.AnonymousRateLimit.Burst != 5 || cfg.PasswordHashConcurrency != 3 {
		t.Fatalf("from the environment and flags: %+v %+v %d", cfg.UserRateLimit, cfg.AnonymousRateLimit, cfg.PasswordHashConcurrency)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:4000"
	r.Header.Set("X-Forwarded-For", "198.51.100.2")
	if got := cfg.TrustedProxies.ClientAddr(r); got != "198.51.100.2" {
		t.Fatalf("TRUSTED_PROXIES not applied: client %s", got)
	}
	for name, e := range map[string]map[string]string{
		"rate":        {"USER_RATE_LIMIT": "lots"},
		"proxy":       {"TRUSTED_PROXIES": "proxy.internal"},
		"concurrency": {"PASSWORD_HASH_CONCURRENCY": "-1"},
	} {
		if _, err := loadConfig(nil, env(e), io.Discard); err == nil {
			t.Errorf("a bad %s setting was accepted", name)
		}
	}
}
