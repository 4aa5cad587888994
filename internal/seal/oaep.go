package seal

import (
	"crypto/fips140"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"
	"math/bits"
)

// oaepKey is an RSA public key prepared for many RSA-OAEP (SHA-256)
// encryptions. crypto/rsa rebuilds its Montgomery constants from the
// modulus on every call, which is about a third of the cost of wrapping a
// session key; here they are computed once per key.
//
// The arithmetic is constant-time in the message (no branch or index
// depends on it), like crypto/rsa's, and variable-time only in the public
// modulus and exponent.
type oaepKey struct {
	pub   *rsa.PublicKey
	size  int    // modulus size in bytes
	n     []uint // modulus, little-endian limbs
	n0inv uint   // -n⁻¹ mod 2^W
	rr    []uint // R² mod n, R = 2^(W·len(n))
}

// newOAEPKey prepares pub, or returns nil when crypto/rsa must do the work:
// in FIPS 140 mode (the module's implementation is the approved one) and
// for keys outside what this code handles, so that crypto/rsa reports
// them as it always has.
func newOAEPKey(pub *rsa.PublicKey) *oaepKey {
	if fips140.Enabled() || pub.N == nil || pub.N.Sign() <= 0 || pub.N.Bit(0) == 0 ||
		pub.N.BitLen() < 1024 || pub.N.BitLen() > 16384 || pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<31-1 {
		return nil
	}
	size := (pub.N.BitLen() + 7) / 8
	limbs := (pub.N.BitLen() + bits.UintSize - 1) / bits.UintSize
	k := &oaepKey{pub: pub, size: size, n: toLimbs(pub.N, limbs)}
	// Newton's iteration for n⁻¹ mod 2^W: each step doubles the correct
	// low bits, starting from 3 (n·n ≡ 1 mod 8 for odd n).
	inv := k.n[0]
	for i := 0; i < 6; i++ {
		inv *= 2 - k.n[0]*inv
	}
	k.n0inv = -inv
	r2 := new(big.Int).Lsh(big.NewInt(1), uint(2*limbs*bits.UintSize))
	k.rr = toLimbs(r2.Mod(r2, pub.N), limbs)
	return k
}

// toLimbs is x as exactly n little-endian limbs; x is public.
func toLimbs(x *big.Int, n int) []uint {
	out := make([]uint, n)
	for i, w := range x.Bits() {
		out[i] = uint(w)
	}
	return out
}

// encrypt is RSA-OAEP with SHA-256 for both hash and MGF1, byte for byte
// what rsa.EncryptOAEP(sha256.New(), random, pub, msg, label) produces for
// the same random bytes.
func (k *oaepKey) encrypt(random io.Reader, msg, label []byte) ([]byte, error) {
	const hLen = sha256.Size
	if len(msg) > k.size-2*hLen-2 {
		return nil, rsa.ErrMessageTooLong
	}
	// em = 0x00 || seed || db, db = lHash || zeros || 0x01 || msg.
	em := make([]byte, k.size)
	seed, db := em[1:1+hLen], em[1+hLen:]
	lHash := sha256.Sum256(label)
	copy(db, lHash[:])
	db[len(db)-len(msg)-1] = 1
	copy(db[len(db)-len(msg):], msg)
	if _, err := io.ReadFull(random, seed); err != nil {
		return nil, fmt.Errorf("reading OAEP seed: %w", err)
	}
	mgf1XOR(db, seed)
	mgf1XOR(seed, db)
	return k.exp(em), nil
}

// mgf1XOR xors out with MGF1-SHA-256 of seed.
func mgf1XOR(out, seed []byte) {
	var counter [4]byte
	var digest [sha256.Size]byte
	h := sha256.New()
	for done := 0; done < len(out); {
		h.Reset()
		h.Write(seed)
		h.Write(counter[:])
		h.Sum(digest[:0])
		done += subtle.XORBytes(out[done:], out[done:], digest[:])
		for i := 3; i >= 0; i-- {
			counter[i]++
			if counter[i] != 0 {
				break
			}
		}
	}
}

// exp returns em^e mod n as size big-endian bytes; em is below n since its
// first byte is zero.
func (k *oaepKey) exp(em []byte) []byte {
	l := len(k.n)
	// One allocation for every number below; t is scratch for products.
	buf := make([]uint, 5*l+1)
	x, xm, acc, t := buf[:l], buf[l:2*l], buf[2*l:3*l], buf[3*l:]
	for i, b := range em { // big-endian bytes to little-endian limbs
		pos := len(em) - 1 - i
		x[pos/(bits.UintSize/8)] |= uint(b) << (8 * (pos % (bits.UintSize / 8)))
	}
	k.mul(xm, x, k.rr, t) // x·R, Montgomery form
	copy(acc, xm)
	e := k.pub.E
	for i := bits.Len(uint(e)) - 2; i > 0; i-- {
		k.sqr(acc, acc, t)
		if e>>i&1 == 1 {
			k.mul(acc, acc, xm, t)
		}
	}
	// The last bit of the odd exponent: multiplying by x itself rather than
	// by x·R leaves Montgomery form in the same step.
	k.sqr(acc, acc, t)
	k.mul(acc, acc, x, t)
	out := make([]byte, k.size)
	for i := range out {
		pos := len(out) - 1 - i
		out[i] = byte(acc[pos/(bits.UintSize/8)] >> (8 * (pos % (bits.UintSize / 8))))
	}
	return out
}

// mul sets z = a·b·R⁻¹ mod n for a, b < n. z may alias a or b; t has
// 2·len(n)+1 limbs.
func (k *oaepKey) mul(z, a, b, t []uint) {
	l := len(k.n)
	clear(t)
	for i := 0; i < l; i++ {
		t[i+l] = addMulVVW(t[i:i+l], a, b[i])
	}
	k.reduce(z, t)
}

// sqr sets z = a·a·R⁻¹ mod n, computing each cross product once.
func (k *oaepKey) sqr(z, a, t []uint) {
	l := len(k.n)
	clear(t)
	for i := 0; i < l-1; i++ {
		t[i+l] = addMulVVW(t[2*i+1:i+l], a[i+1:], a[i])
	}
	// Double the cross products, then add the squares on the diagonal.
	var c uint
	for i := 0; i < 2*l; i++ {
		t[i], c = t[i]<<1|c, t[i]>>(bits.UintSize-1)
	}
	c = 0
	for i := 0; i < l; i++ {
		hi, lo := bits.Mul(a[i], a[i])
		t[2*i], c = bits.Add(t[2*i], lo, c)
		t[2*i+1], c = bits.Add(t[2*i+1], hi, c)
	}
	k.reduce(z, t)
}

// reduce sets z = t·R⁻¹ mod n for t < n·R (Montgomery reduction), with a
// final subtraction that does not branch on the value.
func (k *oaepKey) reduce(z, t []uint) {
	l := len(k.n)
	var top uint
	for i := 0; i < l; i++ {
		m := t[i] * k.n0inv
		c := addMulVVW(t[i:i+l], k.n, m)
		t[i+l], top = bits.Add(t[i+l], c, top)
	}
	r := t[l : 2*l]
	var borrow uint
	for i := range z { // z = r - n, kept if r ≥ n (or r overflowed)
		z[i], borrow = bits.Sub(r[i], k.n[i], borrow)
	}
	keep := top | (1 ^ borrow) // 1: z holds r - n
	mask := -keep
	for i := range z {
		z[i] = z[i]&mask | r[i]&^mask
	}
}

// addMulVVW adds x·y to z in place and returns the carry out. Unrolled by
// four: the loop is most of the time of an encryption.
func addMulVVW(z, x []uint, y uint) (carry uint) {
	n := len(z)
	x = x[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		zz, xx := z[i:i+4:i+4], x[i:i+4:i+4]
		zz[0], carry = mulAddWWW(xx[0], y, zz[0], carry)
		zz[1], carry = mulAddWWW(xx[1], y, zz[1], carry)
		zz[2], carry = mulAddWWW(xx[2], y, zz[2], carry)
		zz[3], carry = mulAddWWW(xx[3], y, zz[3], carry)
	}
	for ; i < n; i++ {
		z[i], carry = mulAddWWW(x[i], y, z[i], carry)
	}
	return carry
}

// mulAddWWW returns x·y + z + c as low and high words; it cannot overflow
// two words.
func mulAddWWW(x, y, z, c uint) (lo, hi uint) {
	hi, lo = bits.Mul(x, y)
	var cc uint
	lo, cc = bits.Add(lo, z, 0)
	hi += cc
	lo, cc = bits.Add(lo, c, 0)
	return lo, hi + cc
}
