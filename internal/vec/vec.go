package vec

// AddBias sets y[i] += b[i] for every i < len(y). len(b) must be >= len(y).
func AddBias(y, b []float32) {
	b = b[:len(y)]
	addBias(y, b)
}

// AddBiasReLU sets y[i] = max(y[i]+b[i], 0) for every i < len(y); a NaN sum stays NaN.
// len(b) must be >= len(y).
func AddBiasReLU(y, b []float32) {
	b = b[:len(y)]
	addBiasReLU(y, b)
}

// ReLUGrad sets dst[i] = g[i] where y[i] > 0 and 0 elsewhere (the gradient at 0 is 0, as
// PyTorch; a NaN y passes nothing), for i < len(dst). g and y must be at least as long as
// dst; dst may be g.
func ReLUGrad(dst, g, y []float32) {
	g, y = g[:len(dst)], y[:len(dst)]
	reluGrad(dst, g, y)
}

// AddTo64 sets acc[i] += float64(x[i]) for every i < len(acc). len(x) must be >= len(acc).
// Called once per row of a matrix, it sums the columns (a bias gradient) in float64.
func AddTo64(acc []float64, x []float32) {
	x = x[:len(acc)]
	addTo64(acc, x)
}

// SumSquares returns the sum of x[i]^2, accumulated in float64.
func SumSquares(x []float32) float64 {
	return sumSquares(x)
}

// AdamStep holds one Adam step's coefficients in the form the kernel uses; NewAdamStep
// derives them from PyTorch's settings.
type AdamStep struct {
	Beta1, Beta2 float32 // moment decay rates
	// 1-Beta1 and 1-Beta2, computed in float64 before rounding as PyTorch does (1 minus a
	// rounded 0.999 is off by 1e-5 relative).
	OneMinusBeta1, OneMinusBeta2 float32
	StepSize                     float32 // lr / (1 - beta1^step)
	BC2Sqrt                      float32 // sqrt(1 - beta2^step)
	Eps                          float32
	GradScale                    float32 // the gradient is multiplied by this first (a gradient-norm clip); 1 = none
}

// NewAdamStep returns the coefficients of step number step (1 on the first step) of
// PyTorch's Adam with the given settings. The bias corrections are computed in float64, as
// PyTorch computes them in Python floats, and rounded once.
func NewAdamStep(lr, beta1, beta2, eps float64, step int, gradScale float64) AdamStep {
	bc1 := 1 - pow(beta1, step)
	bc2 := 1 - pow(beta2, step)
	return AdamStep{Beta1: float32(beta1), Beta2: float32(beta2),
		OneMinusBeta1: float32(1 - beta1), OneMinusBeta2: float32(1 - beta2), StepSize: float32(lr / bc1),
		BC2Sqrt: float32(sqrt64(bc2)), Eps: float32(eps), GradScale: float32(gradScale)}
}

// Adam applies one step of PyTorch's single-tensor Adam (torch.optim.Adam without amsgrad
// or weight decay) to every i < len(p), in float32 and in PyTorch's order of operations:
//
//	g = grad*GradScale
//	m = Beta1 m + OneMinusBeta1 g
//	v = Beta2 v + OneMinusBeta2 g g
//	p = p - StepSize m / (sqrt(v)/BC2Sqrt + Eps)
//
// g, m and v must be at least as long as p; g is only read.
func Adam(p, g, m, v []float32, s AdamStep) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	adam(p, g, m, v, s)
}
