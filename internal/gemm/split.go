package gemm

// packCostFlops weighs one packed element of B against the 2 flops of one multiply-add,
// for choosing how to split C (a split along M packs all of B in every part).
const packCostFlops = 32

// split divides C into at most threads parts of whole tiles, along N or along M,
// whichever finishes sooner by a simple cost model: the largest part's multiply-adds plus
// the B elements it packs (a split along M packs all of B in every part). It returns the
// parts in buf.
func split(p *problem, threads int, buf []part) []part {
	mr, nr := p.lv.geometry()
	k := float64(p.k)
	packCost := func(cols int) float64 {
		if !p.transB {
			return 0
		}
		return packCostFlops * float64(cols) * k
	}
	tn, widthN := even(p.n, nr, threads)
	costN := 2*float64(p.m)*float64(widthN)*k + packCost(widthN)
	tm, heightM := even(p.m, mr, threads)
	costM := 2*float64(heightM)*float64(p.n)*k + packCost(p.n)
	parts := buf[:0]
	if (tn > 1 && costN <= costM) || tm <= 1 {
		for j0 := 0; j0 < p.n; {
			j1 := min(p.n, j0+widthN)
			parts = append(parts, part{0, p.m, j0, j1})
			j0 = j1
		}
		return parts
	}
	for i0 := 0; i0 < p.m; {
		i1 := min(p.m, i0+heightM)
		parts = append(parts, part{i0, i1, 0, p.n})
		i0 = i1
	}
	return parts
}

// even splits size into at most t runs of whole units (the last may be partial) and
// returns the number of runs and the longest run's length.
func even(size, unit, t int) (runs, longest int) {
	units := ceilDiv(size, unit)
	runs = min(t, units)
	longest = min(size, ceilDiv(units, runs)*unit)
	return ceilDiv(size, longest), longest
}
