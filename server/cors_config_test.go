package main

import (
	"io"
	"slices"
	"testing"
)

func TestCORSOriginsConfig(t *testing.T) {
	cfg, err := loadConfig(nil, env(nil), io.Discard)
	if err != nil || len(cfg.CORSOrigins) != 0 {
		t.Fatalf("none by default: %v %v", cfg.CORSOrigins, err)
	}
	cfg, err = loadConfig(nil, env(map[string]string{"CORS_ORIGINS": "https://app.example.com, http://localhost:5173"}), io.Discard)
	if err != nil || !slices.Equal(cfg.CORSOrigins, []string{"https://app.example.com", "http://localhost:5173"}) {
		t.Fatalf("from the environment: %v %v", cfg.CORSOrigins, err)
	}
	cfg, err = loadConfig([]string{"-cors-origins", "https://admin.example.com"}, env(map[string]string{"CORS_ORIGINS": "https://app.example.com"}), io.Discard)
	if err != nil || !slices.Equal(cfg.CORSOrigins, []string{"https://admin.example.com"}) {
		t.Fatalf("the flag wins: %v %v", cfg.CORSOrigins, err)
	}
	if _, err := loadConfig(nil, env(map[string]string{"CORS_ORIGINS": "*"}), io.Discard); err == nil {
		t.Fatal("CORS_ORIGINS=* was accepted")
	}
}
