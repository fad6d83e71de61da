package auth

import (
	"strings"
	"testing"
	"time"

	"estatecrm/ent/schema/pulid"
)

// A token Parse remembers is still checked for time on every use, and only
// its exact text is remembered: a changed byte fails, and what one caller
// does to its viewer is not what the next one gets.
func TestParseRemembersOnlyWhatTimeCannotChange(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s, err := NewSigner([]byte("token-test-key-token-test-key-token!!"), 15*time.Minute, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	want := &Viewer{UserID: "US1", Role: RoleAgent, ProjectIDs: []pulid.ID{"PR1", "PR2"}, SessionID: "s1"}
	tok, exp, err := s.Issue(want)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the first parse checks everything, the second is remembered
		v, err := s.Parse(tok)
		if err != nil || v.UserID != "US1" || v.Role != RoleAgent || len(v.ProjectIDs) != 2 || v.ProjectIDs[1] != "PR2" || !v.Expires.Equal(exp) {
			t.Fatalf("parse %d: %+v, %v", i, v, err)
		}
		v.ProjectIDs[0] = "PR9" // a caller's change stays its own
		v.ProjectIDs = append(v.ProjectIDs, "PR3")
	}
	if len(s.checked.m) != 1 {
		t.Fatalf("%d tokens remembered, want 1", len(s.checked.m))
	}
	v, _ := s.Parse(tok)
	if len(v.ProjectIDs) != 2 || v.ProjectIDs[0] != "PR1" {
		t.Fatalf("a caller's change reached the next: %v", v.ProjectIDs)
	}
	// One byte of the signature changed: not the remembered text.
	i := strings.LastIndexByte(tok, '.') + 5
	flipped := byte('A')
	if tok[i] == 'A' {
		flipped = 'B'
	}
	forged := tok[:i] + string(flipped) + tok[i+1:]
	if _, err := s.Parse(forged); err != ErrInvalidToken {
		t.Fatalf("a changed token parsed: %v", err)
	}
	// Time is checked on every use: within the leeway past expiry it
	// passes, beyond it not; a clock moved back before the issue time
	// (less the leeway) fails too.
	for _, tc := range []struct {
		at time.Time
		ok bool
	}{
		{exp.Add(leeway - time.Second), true},
		{exp.Add(leeway + time.Second), false},
		{exp.Add(-15*time.Minute - leeway - time.Second), false},
		{exp.Add(-15*time.Minute - leeway + time.Second), true},
	} {
		now = tc.at
		if _, err := s.Parse(tok); (err == nil) != tc.ok {
			t.Errorf("at %s: err %v, want ok=%v", tc.at, err, tc.ok)
		}
	}
}

// The remembered tokens are bounded: when full, the expired go first.
func TestParseForgetsExpiredTokensWhenFull(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s, err := NewSigner([]byte("token-test-key-token-test-key-token!!"), time.Minute, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	parse := func(user string) {
		t.Helper()
		tok, _, err := s.Issue(&Viewer{UserID: pulid.ID(user), Role: RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Parse(tok); err != nil {
			t.Fatal(err)
		}
	}
	for i := range maxCheckedTokens {
		parse("old" + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if len(s.checked.m) != maxCheckedTokens {
		t.Fatalf("%d remembered, want %d", len(s.checked.m), maxCheckedTokens)
	}
	now = now.Add(time.Hour) // every token so far has expired
	parse("new")
	if len(s.checked.m) != 1 {
		t.Fatalf("%d remembered after the expired were dropped, want 1", len(s.checked.m))
	}
}

func BenchmarkParse(b *testing.B) {
	s, err := NewSigner([]byte("token-test-key-token-test-key-token!!"), 15*time.Minute, nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := s.Issue(&Viewer{UserID: "US1", Role: RoleAgent, ProjectIDs: []pulid.ID{"PR1", "PR2"}, SessionID: "s1"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("remembered", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Parse(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("checked", func(b *testing.B) {
		for b.Loop() {
			clear(s.checked.m)
			if _, err := s.Parse(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
