package sweep

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"hybridtrain/internal/ppo"
	"hybridtrain/internal/report"
)

// EvaluationFile is a trial's final evaluation: the document `hybridtrain eval --model
// TRIAL/final --json` prints (the validation split's every session, and the evaluation
// report under "report"). `sweep run` writes it, after training, into EvaluationDir beside
// the report's files; the leaderboard reads it.
const EvaluationFile = "eval.json"

// EvaluationDir is where a trial's final evaluation goes: TRIAL/reports/final-validation,
// where `hybridtrain eval --model TRIAL/final` writes its report too.
func EvaluationDir(trialDir string) string {
	return filepath.Join(trialDir, ppo.ReportsDir, ppo.FinalDir+"-validation")
}

// Evaluation is the part of eval.json the leaderboard reads.
type Evaluation struct {
	Timesteps  int64          `json:"timesteps"` // the checkpoint's
	Split      string         `json:"split"`
	Sessions   int            `json:"sessions"`
	MeanReward float64        `json:"mean_reward"` // mean raw episode return, one session per episode
	MeanPnL    float64        `json:"mean_pnl"`
	Report     *report.Report `json:"report"` // the continuous-account backtest: net P&L, Sharpe, drawdown, verdict
}

// ReadEvaluation reads the final evaluation of the trial in trialDir; an error wrapping
// fs.ErrNotExist when it has none.
func ReadEvaluation(trialDir string) (*Evaluation, error) {
	path := filepath.Join(EvaluationDir(trialDir), EvaluationFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var e Evaluation
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", path, err)
	}
	if e.Report == nil {
		return nil, fmt.Errorf("sweep: %s: no report", path)
	}
	return &e, nil
}
