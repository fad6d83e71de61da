package auth

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "correct horse") {
		t.Fatalf("unexpected hash %q", h)
	}
	if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("the right password was refused: %v", err)
	}
	if ok, _ := CheckPassword(h, "correct horsE"); ok {
		t.Fatal("a wrong password was accepted")
	}
	h2, _ := HashPassword("correct horse")
	if h2 == h {
		t.Fatal("two hashes of one password share a salt")
	}
	if _, err := CheckPassword("plain", "plain"); err == nil {
		t.Fatal("a malformed hash was accepted")
	}
}
