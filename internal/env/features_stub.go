package env

// marketFeatures computes Dataset.Market (bar-major, MarketDim float32 per bar) from the
// dataset's bars and sessions. Owned by the simulator owner (features.go); called by
// NewDataset. This stub is replaced.
func marketFeatures(ds *Dataset) []float32 { return make([]float32, ds.Bars.Len()*MarketDim) }
