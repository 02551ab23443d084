package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/report"
)

// predict --data: the policy over the sessions of bar files, as eval backtests it, one row
// per bar (report.Predict).

func runPredictData(ctx context.Context, a *app, opts *predictOptions) error {
	model, s, inst, err := predictSettings(a, opts)
	if err != nil {
		return err
	}
	_, ds, sessions, err := loadSplit(s, inst, opts.split, "predict", a.stderr)
	if err != nil {
		return err
	}
	rows, err := report.Predict(ctx, report.PredictInput{Dataset: ds, Sessions: sessions, Env: s.Env, Predictor: model})
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	f := report.NewRowFormat(inst)
	write := func(w io.Writer) error {
		if opts.asJSON {
			doc, err := f.JSONDocument(rows)
			if err != nil {
				return err
			}
			_, err = w.Write(append(doc, '\n'))
			return err
		}
		cw := csv.NewWriter(w)
		if err := cw.Write(report.RowCSVHeader); err != nil {
			return err
		}
		for _, r := range rows {
			if err := cw.Write(f.CSV(r)); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	if opts.out == "" {
		if err := write(a.stdout); err != nil {
			return fmt.Errorf("predict: %w", err)
		}
		return nil
	}
	if err := atomicfile.WriteFunc(opts.out, 0o644, write); err != nil {
		return fmt.Errorf("predict: --out: %w", err)
	}
	fmt.Fprintf(a.stderr, "wrote %s (%d rows)\n", opts.out, len(rows))
	return nil
}
