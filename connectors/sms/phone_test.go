package sms

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, country, want string
		err               error
	}{
		{"+55 48 99876-5432", "55", "+5548998765432", nil},
		{"(48) 99876-5432", "55", "+5548998765432", nil},
		{"48998765432", "55", "+5548998765432", nil},
		{"048 99876 5432", "55", "+5548998765432", nil},
		{"0 15 48 99876-5432", "55", "+5548998765432", nil}, // carrier code
		{"0015 48 998765432", "55", "+5548998765432", nil},
		{"5548998765432", "55", "+5548998765432", nil},
		{"0055 48 99876-5432", "55", "+5548998765432", nil},
		{"+55 (11) 9.1234-5678", "+55", "+5511912345678", nil},
		{"48 3333-4444", "55", "", ErrNotMobile}, // landline
		{"+55 48 3333-4444", "55", "", ErrNotMobile},
		{"+55 48 8876-5432", "55", "", ErrNotMobile}, // 8 digits: an old mobile or a landline: no SMS
		{"9876-5432", "55", "", ErrInvalidNumber},    // no area code
		{"+55 08 99876-5432", "55", "", ErrInvalidNumber},
		{"+56 9 8765 4321", "55", "+56987654321", nil},
		{"9 8765 4321", "56", "+56987654321", nil},
		{"2 2345 6789", "56", "", ErrNotMobile},
		{"+57 310 123 4567", "55", "+573101234567", nil},
		{"+54 9 11 2345-6789", "55", "+5491123456789", nil},
		{"+54 11 2345-6789", "55", "", ErrNotMobile},
		{"+52 55 1234 5678", "55", "+525512345678", nil},
		{"+1 415 555 0100", "55", "+14155550100", nil},
		{"+351 912 345 678", "55", "+351912345678", nil},
		{"", "55", "", ErrInvalidNumber},
		{"abc", "55", "", ErrInvalidNumber},
		{"48 99876-5432 ramal 2", "55", "", ErrInvalidNumber},
		{"4899876+5432", "55", "", ErrInvalidNumber},
		{"+1234567890123456", "55", "", ErrInvalidNumber},
		{strings.Repeat("9", 41), "55", "", ErrInvalidNumber},
		{"48998765432", "x", "", ErrInvalidNumber},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in, tt.country)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", tt.in, tt.country, got, err, tt.want, tt.err)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+5548998765432", "(48) 9****-5432"},
		{"+56987654321", "+56 9****-4321"},
		{"+14155550100", "+1 4****-0100"},
		{"+351912345678", "+351 9****-5678"},
		{"garbage", "****"},
		{"+55", "****"},
		{"", "****"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHideNumber(t *testing.T) {
	msg := "Invalid 'To' Phone Number: +5548998765432 (5548998765432, 48998765432)"
	got := hideNumber(msg, "+5548998765432")
	if strings.Contains(got, "98765432") || !strings.Contains(got, "(48) 9****-5432") {
		t.Errorf("hideNumber = %q", got)
	}
}

// FuzzNormalize: never panics; what it accepts is E.164, normalizes to
// itself, and masks to at most five of its digits.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+55 48 99876-5432", "(48) 99876-5432", "0015 48 998765432", "+56 9 8765 4321", "00", "+", "0 (0) 0", "+1 415 555 0100"} {
		f.Add(s, "55")
	}
	f.Add("9 8765 4321", "56")
	f.Fuzz(func(t *testing.T, in, country string) {
		got, err := Normalize(in, country)
		if err != nil {
			if got != "" {
				t.Fatalf("error %v with %q", err, got)
			}
			return
		}
		if !strings.HasPrefix(got, "+") || !allDigits(got[1:]) || len(got) < 9 || len(got) > 16 {
			t.Fatalf("Normalize(%q) = %q", in, got)
		}
		again, err := Normalize(got, country)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; not stable", got, again, err)
		}
		n := 0
		for _, r := range Mask(got) {
			if r >= '0' && r <= '9' {
				n++
			}
		}
		if cc, _ := splitCountry(got[1:]); n > 5+len(cc)+2 {
			t.Fatalf("Mask(%q) = %q shows too much", got, Mask(got))
		}
	})
}
