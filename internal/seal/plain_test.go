package seal

// A second, deliberately plain implementation of the format, written from
// RFC 8017 (RSAES-OAEP) and NIST SP 800-38D (GCM) with math/big and the bare
// AES block cipher. It shares no code with seal.go beyond crypto/aes, so a
// vector that both agree on pins the bytes, not our reading of the stdlib.

import (
	"bytes"
	"crypto/aes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/big"
)

func plainMGF1(seed []byte, n int) []byte {
	var out []byte
	for c := uint32(0); len(out) < n; c++ {
		var ctr [4]byte
		binary.BigEndian.PutUint32(ctr[:], c)
		h := sha256.Sum256(append(append([]byte{}, seed...), ctr[:]...))
		out = append(out, h[:]...)
	}
	return out[:n]
}

func xorInto(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// plainOAEPDecrypt is RSAES-OAEP-DECRYPT with SHA-256 and MGF1-SHA-256.
func plainOAEPDecrypt(priv *rsa.PrivateKey, c, label []byte) ([]byte, error) {
	k := (priv.N.BitLen() + 7) / 8
	if len(c) != k {
		return nil, errors.New("wrong length")
	}
	m := new(big.Int).Exp(new(big.Int).SetBytes(c), priv.D, priv.N)
	em := m.FillBytes(make([]byte, k))
	hLen := sha256.Size
	lHash := sha256.Sum256(label)
	if em[0] != 0 {
		return nil, errors.New("decryption error")
	}
	seed := append([]byte{}, em[1:1+hLen]...)
	db := append([]byte{}, em[1+hLen:]...)
	xorInto(seed, plainMGF1(db, hLen))
	xorInto(db, plainMGF1(seed, len(db)))
	if !bytes.Equal(db[:hLen], lHash[:]) {
		return nil, errors.New("decryption error")
	}
	rest := db[hLen:]
	i := bytes.IndexByte(rest, 1)
	if i < 0 || bytes.Count(rest[:i], []byte{0}) != i {
		return nil, errors.New("decryption error")
	}
	return rest[i+1:], nil
}

// plainOAEPEncrypt is RSAES-OAEP-ENCRYPT with a caller-chosen seed, so the
// test can build deterministic ciphertexts.
func plainOAEPEncrypt(pub *rsa.PublicKey, msg, label, seed []byte) []byte {
	k := (pub.N.BitLen() + 7) / 8
	hLen := sha256.Size
	lHash := sha256.Sum256(label)
	db := make([]byte, k-hLen-1)
	copy(db, lHash[:])
	db[len(db)-len(msg)-1] = 1
	copy(db[len(db)-len(msg):], msg)
	xorInto(db, plainMGF1(seed, len(db)))
	maskedSeed := append([]byte{}, seed...)
	xorInto(maskedSeed, plainMGF1(db, hLen))
	em := append(append([]byte{0}, maskedSeed...), db...)
	c := new(big.Int).Exp(new(big.Int).SetBytes(em), big.NewInt(int64(pub.E)), pub.N)
	return c.FillBytes(make([]byte, k))
}

// gfMul multiplies in GF(2^128) with GCM's bit order (SP 800-38D alg. 1).
func gfMul(x, y [16]byte) [16]byte {
	var z [16]byte
	v := y
	for i := 0; i < 128; i++ {
		if x[i/8]>>(7-uint(i%8))&1 == 1 {
			for j := range z {
				z[j] ^= v[j]
			}
		}
		lsb := v[15] & 1
		for j := 15; j > 0; j-- {
			v[j] = v[j]>>1 | v[j-1]<<7
		}
		v[0] >>= 1
		if lsb == 1 {
			v[0] ^= 0xe1
		}
	}
	return z
}

// plainGCM encrypts (or decrypts) data with a zero 96-bit nonce and returns
// the transformed data and the tag over the ciphertext.
func plainGCM(key, data []byte, decrypt bool) ([]byte, [16]byte) {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	var h, j0 [16]byte
	block.Encrypt(h[:], h[:])
	j0[15] = 1
	out := make([]byte, len(data))
	ctr := j0
	for off := 0; off < len(data); off += 16 {
		binary.BigEndian.PutUint32(ctr[12:], binary.BigEndian.Uint32(ctr[12:])+1)
		var ks [16]byte
		block.Encrypt(ks[:], ctr[:])
		for i := 0; i < 16 && off+i < len(data); i++ {
			out[off+i] = data[off+i] ^ ks[i]
		}
	}
	ct := out
	if decrypt {
		ct = data
	}
	var y [16]byte
	for off := 0; off < len(ct); off += 16 {
		var blk [16]byte
		copy(blk[:], ct[off:])
		for i := range y {
			y[i] ^= blk[i]
		}
		y = gfMul(y, h)
	}
	var lens [16]byte
	binary.BigEndian.PutUint64(lens[8:], uint64(len(ct))*8)
	for i := range y {
		y[i] ^= lens[i]
	}
	y = gfMul(y, h)
	var ekj0 [16]byte
	block.Encrypt(ekj0[:], j0[:])
	for i := range y {
		y[i] ^= ekj0[i]
	}
	return out, y
}

func plainOpen(priv *rsa.PrivateKey, label, ct []byte) ([]byte, error) {
	if len(ct) < 2 {
		return nil, errors.New("short")
	}
	n := int(ct[0])<<8 | int(ct[1])
	if len(ct) < 2+n+16 {
		return nil, errors.New("short")
	}
	key, err := plainOAEPDecrypt(priv, ct[2:2+n], label)
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, errors.New("session key is not 32 bytes")
	}
	body := ct[2+n:]
	data, tag := body[:len(body)-16], body[len(body)-16:]
	plain, want := plainGCM(key, data, true)
	if !bytes.Equal(tag, want[:]) {
		return nil, errors.New("tag mismatch")
	}
	return plain, nil
}

func plainSeal(pub *rsa.PublicKey, label, plaintext, sessionKey, oaepSeed []byte) []byte {
	w := plainOAEPEncrypt(pub, sessionKey, label, oaepSeed)
	c, tag := plainGCM(sessionKey, plaintext, false)
	out := []byte{byte(len(w) >> 8), byte(len(w))}
	out = append(out, w...)
	out = append(out, c...)
	return append(out, tag[:]...)
}
