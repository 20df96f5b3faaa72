// Package primes is the arithmetic the sumprimes and taskfarm examples
// hand out as work.
package primes

// IsPrime reports whether n is prime, by trial division.
func IsPrime(n int64) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := int64(3); d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// Sum returns the sum of the primes in [lo, hi).
func Sum(lo, hi int64) int64 {
	var s int64
	for n := lo; n < hi; n++ {
		if IsPrime(n) {
			s += n
		}
	}
	return s
}
