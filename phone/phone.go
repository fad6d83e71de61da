// Package phone normalises mainland Chinese mobile numbers to E.164, the one
// form in which the server stores and compares them (a customer is identified
// by phone, so "138 0013 8000" and "+86-138-0013-8000" must be one person).
package phone

import (
	"errors"
	"strings"
)

// ErrInvalid is returned for anything but a mainland mobile number.
var ErrInvalid = errors.New("a phone number must be a mainland mobile: 11 digits starting with 1, optionally with +86")

// Normalize returns the E.164 form (+8613800138000) of a mainland mobile
// number written with optional +86/0086 prefix, spaces, dashes or dots.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", ErrInvalid
		}
	}
	d := b.String()
	if plus && !strings.HasPrefix(d, "86") {
		return "", ErrInvalid
	}
	switch {
	case len(d) == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	}
	if len(d) != 11 || d[0] != '1' || d[1] < '3' {
		return "", ErrInvalid
	}
	return "+86" + d, nil
}

// Last4 returns the last four digits of a normalised number: the way a
// returning visitor is found at the door.
func Last4(e164 string) string {
	if len(e164) < 4 {
		return e164
	}
	return e164[len(e164)-4:]
}

// Mask hides the middle of a normalised number: +8613800138000 → 138****8000.
func Mask(e164 string) string {
	d := strings.TrimPrefix(e164, "+86")
	if len(d) != 11 {
		return "****"
	}
	return d[:3] + "****" + d[7:]
}
