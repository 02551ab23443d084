package walkforward

import (
	"context"
	"fmt"
	"path/filepath"

	"hybridtrain/internal/ppo"
	"hybridtrain/internal/report"
)

// Runner trains and tests the folds; the command line's implements them with train's own
// code path and eval's report.
type Runner interface {
	// Train brings fold f's run in dir to its end, training on the sessions of f.Train
	// alone, from wherever an earlier walk-forward left it (nothing to train when it
	// finished), and returns its final checkpoint's directory.
	Train(ctx context.Context, f Fold, dir string) (final string, err error)
	// Test backtests the checkpoint final over the sessions of f.Test (Span.Indices).
	Test(ctx context.Context, f Fold, final string) (*report.Report, error)
}

// TestReportDir is where fold f's test report goes in its run directory: reports/ (which
// training never touches), named as eval names a report of final/: final-test.
func TestReportDir(foldDir string) string {
	return filepath.Join(foldDir, ppo.ReportsDir, ppo.FinalDir+"-test")
}

// Run runs the walk-forward p in dir: it records the plan (Record), then, fold by fold in
// order, has r train the fold (its run directory is dir/<fold name>) and test its final
// checkpoint on the fold's test block, writes that test report into TestReportDir and calls
// done (nil: no call) with the fold's result; then it stitches the test blocks into the
// out-of-sample account and writes the summary's files into dir (Summary.WriteFiles).
//
// Each fold is an independent run, so a walk-forward that stopped (Ctrl-C, a crash)
// continues when run again: r resumes the fold that was running and skips finished ones.
// Every test is run again, so that the summary always describes the final checkpoints
// that are there. ctx's end stops Run before the next fold, or inside r.
func Run(ctx context.Context, p *Plan, dir string, r Runner, done func(FoldResult)) (*Summary, error) {
	if err := p.Record(dir); err != nil {
		return nil, err
	}
	results := make([]FoldResult, 0, len(p.FoldList))
	reports := make([]*report.Report, 0, len(p.FoldList))
	for _, f := range p.FoldList {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("walkforward: before %s: %w", f.Name, err)
		}
		final, err := r.Train(ctx, f, f.Dir(dir))
		if err != nil {
			return nil, fmt.Errorf("walkforward: %s: %w", f.Name, err)
		}
		rep, err := r.Test(ctx, f, final)
		if err != nil {
			return nil, fmt.Errorf("walkforward: %s: test: %w", f.Name, err)
		}
		res := FoldResult{
			Fold: f, Checkpoint: final, Timesteps: rep.Model.Timesteps, ReportDir: TestReportDir(f.Dir(dir)),
			Metrics: rep.Policy.Metrics, Verdict: rep.Policy.Verdict, MaskedActions: rep.Policy.MaskedActions,
		}
		if _, err := rep.WriteFiles(res.ReportDir); err != nil {
			return nil, fmt.Errorf("walkforward: %s: %w", f.Name, err)
		}
		results = append(results, res)
		reports = append(reports, rep)
		if done != nil {
			done(res)
		}
	}
	s, err := Summarize(p, results, reports)
	if err != nil {
		return nil, err
	}
	if _, err := s.WriteFiles(dir); err != nil {
		return nil, err
	}
	return s, nil
}
