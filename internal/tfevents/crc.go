package tfevents

import "hash/crc32"

// castagnoli is the CRC-32C table of TFRecord's checksums.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskDelta is added to the rotated CRC by TensorFlow's crc32c::Mask.
const maskDelta = 0xa282ead8

// CRC32C returns the CRC-32C (Castagnoli) checksum of data.
func CRC32C(data []byte) uint32 { return crc32.Checksum(data, castagnoli) }

// MaskedCRC32C returns the checksum a record stores for data: CRC32C(data) rotated right by
// 15 bits plus 0xa282ead8, as TensorFlow's crc32c::Mask.
func MaskedCRC32C(data []byte) uint32 {
	c := CRC32C(data)
	return (c>>15 | c<<17) + maskDelta
}
