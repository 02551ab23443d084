package gemm

// packB writes op(B)[pc:pc+kc, jc:jc+nc] of a transposed B to dst as ceil(nc/nr) panels of
// kc x nr floats, panel q holding columns jc+q*nr.. row after row (stride nr), which is
// what the kernels read with sb = nr. The columns of a last, narrower panel past nc are not
// written: the kernels mask them off.
//
// op(B)[r][j] = b[j*ldb + r], so packing is a transpose; transpose8 does it 8x8 floats at
// a time and scalar code does the fringes (columns past a multiple of 8 in the last panel,
// k past a multiple of 8).
//
// A B that is not transposed is never packed: the kernels read its rows in place, and
// measurement showed copying KC x NR panels costs more than it saves (the L2 prefetchers
// stream B rows well), up to 15% at 64 to 256 rows of C.
func (p *problem) packB(dst []float32, pc, kc, jc, nc, nr int) {
	k8 := kc &^ 7
	for q := 0; q*nr < nc; q++ {
		w := min(nr, nc-q*nr)
		panel := dst[q*nr*kc : (q+1)*nr*kc]
		j := jc + q*nr
		t := 0
		for ; t+8 <= w; t += 8 {
			src := p.b[(j+t)*p.ldb+pc:]
			if k8 > 0 {
				_ = src[7*p.ldb+k8-1] // the block transpose8 reads
				_ = panel[(k8-1)*nr+t+7]
				transpose8(k8/8, &src[0], p.ldb, &panel[t], nr)
			}
			for c := range 8 {
				row := src[c*p.ldb : c*p.ldb+kc]
				for r := k8; r < kc; r++ {
					panel[r*nr+t+c] = row[r]
				}
			}
		}
		for ; t < w; t++ {
			row := p.b[(j+t)*p.ldb+pc:]
			row = row[:kc]
			for r, v := range row {
				panel[r*nr+t] = v
			}
		}
	}
}
