package phone

import "testing"

func TestNormalize(t *testing.T) {
	for _, in := range []string{"13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+8613800138000", "8613800138000", "008613800138000"} {
		got, err := Normalize(in)
		if err != nil || got != "+8613800138000" {
			t.Fatalf("Normalize(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "1380013800", "138001380001", "23800138000", "12800138000", "010-12345678", "+1 415 555 0100", "138OO138000", "1380013800a"} {
		if got, err := Normalize(bad); err == nil {
			t.Fatalf("Normalize(%q) accepted %q", bad, got)
		}
	}
}

func TestMaskAndLast4(t *testing.T) {
	if got := Mask("+8613800138000"); got != "138****8000" {
		t.Fatalf("Mask = %q", got)
	}
	if got := Last4("+8613800138000"); got != "8000" {
		t.Fatalf("Last4 = %q", got)
	}
}
