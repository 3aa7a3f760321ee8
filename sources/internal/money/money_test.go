package money

import (
	"strings"
	"testing"
)

func TestFromMinor(t *testing.T) {
	tests := []struct{ minor, cur, want string }{
		{"1999", "usd", "19.99"},
		{"5", "USD", "0.05"},
		{"0", "EUR", "0.00"},
		{"-250", "EUR", "-2.50"},
		{"1500", "JPY", "1500"},
		{"1500", "KRW", "1500"},
		{"1250", "KWD", "1.250"},
		{"7", "BHD", "0.007"},
		{"100000", "JOD", "100.000"},
		{"1", "OMR", "0.001"},
		{"42", "TND", "0.042"},
		{"123456789012345678901234567890", "USD", "1234567890123456789012345678.90"},
		{"007", "USD", "0.07"},
		{"-0", "USD", "0.00"},
	}
	for _, tt := range tests {
		m, err := FromMinor(tt.minor, tt.cur)
		if err != nil || m.Amount != tt.want {
			t.Errorf("FromMinor(%q, %q) = %q, %v; want %q", tt.minor, tt.cur, m.Amount, err, tt.want)
		}
	}
	for _, bad := range [][2]string{{"1.5", "USD"}, {"", "USD"}, {"12", "US"}, {"12", "U$D"}, {"1e3", "USD"}} {
		if _, err := FromMinor(bad[0], bad[1]); err == nil {
			t.Errorf("FromMinor(%q, %q): no error", bad[0], bad[1])
		}
	}
}

func TestFromDecimal(t *testing.T) {
	tests := []struct{ text, cur, want string }{
		{"19.99", "USD", "19.99"},
		{"0.30000000000000004", "USD", "0.30"},
		{"0.1", "USD", "0.10"},
		{`"20.0"`, "CAD", "20.00"},
		{"20", "USD", "20.00"},
		{"1e2", "USD", "100.00"},
		{"2.675", "USD", "2.68"}, // the text, not the float 2.67499999...
		{"2.665", "USD", "2.66"}, // half to even
		{"2.665000001", "USD", "2.67"},
		{"-1.005", "USD", "-1.00"},
		{"1500.4", "JPY", "1500"},
		{"1500.5", "JPY", "1500"},
		{"1501.5", "JPY", "1502"},
		{"1.2345", "KWD", "1.234"},
		{"0", "USD", "0.00"},
	}
	for _, tt := range tests {
		m, err := FromDecimal(tt.text, tt.cur)
		if err != nil || m.Amount != tt.want {
			t.Errorf("FromDecimal(%q, %q) = %q, %v; want %q", tt.text, tt.cur, m.Amount, err, tt.want)
		}
	}
	for _, bad := range []string{"", "abc", "1/3", "NaN", "1,5", "1e999999", "1e-41", strings.Repeat("9", 100)} {
		if _, err := FromDecimal(bad, "USD"); err == nil {
			t.Errorf("FromDecimal(%q): no error", bad)
		}
	}
}

func TestJSONAndRange(t *testing.T) {
	m, _ := FromMinor("1999", "USD")
	if got := string(m.JSON()); got != `{"amount":"19.99","currencyCode":"USD"}` {
		t.Errorf("JSON %s", got)
	}
	a, _ := FromDecimal("5", "USD")
	b, _ := FromDecimal("25.5", "USD")
	c, _ := FromDecimal("9.99", "EUR")
	r, ok := RangeOf([]Money{m, a, b, c})
	if !ok || r.Min.Amount != "5.00" || r.Max.Amount != "25.50" {
		t.Errorf("range %+v", r)
	}
	if got := string(r.JSON()); got != `{"max":{"amount":"25.50","currencyCode":"USD"},"min":{"amount":"5.00","currencyCode":"USD"}}` {
		t.Errorf("range JSON %s", got)
	}
	if _, ok := RangeOf(nil); ok {
		t.Errorf("empty range ok")
	}
}

func FuzzFromDecimal(f *testing.F) {
	f.Add("19.99", "USD")
	f.Add("-0.005", "KWD")
	f.Fuzz(func(t *testing.T, text, cur string) {
		m, err := FromDecimal(text, cur)
		if err != nil {
			return
		}
		again, err := FromDecimal(m.Amount, m.CurrencyCode)
		if err != nil || again != m {
			t.Fatalf("not stable: %q -> %+v -> %+v %v", text, m, again, err)
		}
	})
}

func TestFromDecimalSyntax(t *testing.T) {
	for _, tc := range []struct {
		text, want string
		ok         bool
	}{
		{"19.99", "19.99", true},
		{"+1.", "1.00", true},
		{".5", "0.50", true},
		{"-2e2", "-200.00", true},
		{"1E-2", "0.01", true},
		{"1/3", "", false},
		{"0x10", "", false},
		{"1p4", "", false},
		{"1P207", "", false},
		{".", "", false},
		{"1e", "", false},
		{"+", "", false},
		{"1e+", "", false},
		{"1.2.3", "", false},
		{"99999999999999999999999999999999e40", "", false}, // 72 digits: more than any price
	} {
		m, err := FromDecimal(tc.text, "USD")
		if (err == nil) != tc.ok || (tc.ok && m.Amount != tc.want) {
			t.Errorf("FromDecimal(%q) = %+v, %v; want %q ok=%v", tc.text, m, err, tc.want, tc.ok)
		}
	}
}
