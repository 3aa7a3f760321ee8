// Package money converts provider prices into the graph's money form: {"amount": "<decimal string>",
// "currencyCode": "<ISO 4217>"}, with exactly as many decimals as the currency has (USD "19.99",
// JPY "1500", KWD "1.250"), so templates see the same thing from every provider. No float64 is ever
// on the path: minor units are shifted as digits, decimal text is parsed as a big rational.
package money

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
)

// Money is an amount in a currency. Its JSON form is the graph's money object.
type Money struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

// JSON returns {"amount": ..., "currencyCode": ...}.
func (m Money) JSON() json.RawMessage {
	b := append([]byte(`{"amount":`), mesh.AppendString(nil, m.Amount)...)
	b = append(b, `,"currencyCode":`...)
	b = mesh.AppendString(b, m.CurrencyCode)
	return append(b, '}')
}

// exponents lists the ISO 4217 currencies whose minor unit is not 2 decimals.
var exponents = map[string]int{
	// no minor unit
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// three decimals
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// four
	"CLF": 4, "UYW": 4,
}

// Exponent returns the number of decimals of a currency's minor unit (2 unless listed otherwise).
func Exponent(currency string) int {
	if e, ok := exponents[strings.ToUpper(currency)]; ok {
		return e
	}
	return 2
}

func checkCurrency(c string) (string, error) {
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) != 3 {
		return "", fmt.Errorf("currency %q: want a three-letter ISO 4217 code", c)
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return "", fmt.Errorf("currency %q: want a three-letter ISO 4217 code", c)
		}
	}
	return c, nil
}

// FromMinor converts an integer amount in minor units (Stripe's unit_amount, Vendure's price) given
// as its decimal digits, e.g. "1999" USD -> "19.99", "1500" JPY -> "1500", "1250" KWD -> "1.250".
func FromMinor(minor, currency string) (Money, error) {
	cur, err := checkCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	minor = strings.TrimSpace(minor)
	neg := strings.HasPrefix(minor, "-")
	digits := strings.TrimPrefix(minor, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return Money{}, fmt.Errorf("minor amount %q: want an integer", minor)
	}
	digits = strings.TrimLeft(digits, "0")
	exp := Exponent(cur)
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	amount := digits
	if exp > 0 {
		amount = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg && strings.Trim(digits, "0") != "" {
		amount = "-" + amount
	}
	return Money{Amount: amount, CurrencyCode: cur}, nil
}

// FromDecimal converts a decimal amount in major units given as text (a JSON number literal such as
// BigCommerce's 19.99 read as raw text, or a string such as Shopify's "20.0") to the currency's
// decimals, rounding half to even when the text has more digits ("0.30000000000000004" USD -> "0.30").
func FromDecimal(text, currency string) (Money, error) {
	cur, err := checkCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	text = strings.Trim(strings.TrimSpace(text), `"`)
	if len(text) > maxDecimalText || hugeExponent(text) {
		return Money{}, fmt.Errorf("amount %q: too large", normalizeForError(text))
	}
	if !decimalText(text) {
		return Money{}, fmt.Errorf("amount %q: want a decimal number", normalizeForError(text))
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return Money{}, fmt.Errorf("amount %q: want a decimal number", normalizeForError(text))
	}
	amount := formatRat(r, Exponent(cur))
	if len(amount) > maxDecimalText {
		return Money{}, fmt.Errorf("amount %q: too large", normalizeForError(text))
	}
	return Money{Amount: amount, CurrencyCode: cur}, nil
}

// decimalText reports whether text is a plain decimal number: an optional sign, digits with an
// optional fraction, an optional base-10 exponent. big.Rat also reads fractions ("1/3"), hex
// ("0x1p4") and binary exponents ("1p207"), which no price is written as.
func decimalText(text string) bool {
	i := 0
	if i < len(text) && (text[i] == '+' || text[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
		digits++
	}
	if i < len(text) && text[i] == '.' {
		for i++; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(text) && (text[i] == 'e' || text[i] == 'E') {
		i++
		if i < len(text) && (text[i] == '+' || text[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(text)
}

// maxDecimalText bounds the text of an amount: no price needs more digits, and big.Rat would
// otherwise build a million-digit number from "1e999999".
const maxDecimalText = 64

// hugeExponent reports an exponent beyond +-40 (a price is never that far from 1).
func hugeExponent(text string) bool {
	i := strings.IndexAny(text, "eE")
	if i < 0 {
		return false
	}
	exp := strings.TrimLeft(text[i+1:], "+-")
	exp = strings.TrimLeft(exp, "0")
	return len(exp) > 2 || (len(exp) == 2 && exp > "40")
}

func normalizeForError(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// formatRat formats r with exp decimals, rounding half to even.
func formatRat(r *big.Rat, exp int) string {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)
	num := new(big.Int).Mul(r.Num(), scale)
	q, rem := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	// Round half to even on the remainder.
	twice := new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2))
	switch c := twice.Cmp(r.Denom()); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	neg := q.Sign() < 0
	digits := new(big.Int).Abs(q).String()
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	s := digits
	if exp > 0 {
		s = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Range is the graph's price range: {"min": money, "max": money}.
type Range struct {
	Min Money `json:"min"`
	Max Money `json:"max"`
}

// RangeOf returns the lowest and highest of prices in one currency (the first price's currency;
// prices in other currencies are ignored). ok is false when prices is empty.
func RangeOf(prices []Money) (r Range, ok bool) {
	var lo, hi *big.Rat
	for _, p := range prices {
		if len(prices) > 0 && p.CurrencyCode != prices[0].CurrencyCode {
			continue
		}
		v, good := new(big.Rat).SetString(p.Amount)
		if !good {
			continue
		}
		if lo == nil || v.Cmp(lo) < 0 {
			lo, r.Min = v, p
		}
		if hi == nil || v.Cmp(hi) > 0 {
			hi, r.Max = v, p
		}
	}
	return r, lo != nil
}

// JSON returns {"min": ..., "max": ...}.
func (r Range) JSON() json.RawMessage {
	b := append([]byte(`{"max":`), r.Max.JSON()...)
	b = append(b, `,"min":`...)
	b = append(b, r.Min.JSON()...)
	return append(b, '}')
}
