package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hybridtrain/internal/env"
)

// Schema names the version of report.json's layout. A change that renames or removes a
// field, or changes a field's meaning, takes a new version; adding a field does not.
const Schema = "hybridtrain.report/1"

// Report is the evaluation report of one checkpoint on one set of bars; report.json is its
// JSON form.
type Report struct {
	Schema    string     `json:"schema"`
	Model     ModelInfo  `json:"model"`
	Data      DataInfo   `json:"data"`
	Rules     Rules      `json:"rules"`
	Policy    Result     `json:"policy"`
	Baselines *Baselines `json:"baselines"` // null when Config.Baselines is off
	// Comparisons are the other checkpoints of Input.Compare, in order; absent without.
	Comparisons []Comparison `json:"comparisons,omitempty"`

	account    *Account       // the policy's, for trades.csv, equity.csv and the plot
	benchmark  *Account       // buy-and-hold's, drawn beside the policy's equity (nil without baselines)
	contenders []*Account     // the comparisons' accounts, drawn beside the policy's equity
	zone       *time.Location // the exchange's, for every time the files write
	cfg        Config
}

// PolicyAccount returns the policy's backtest: every bar and trade its metrics come from
// (what equity.csv and trades.csv write). A walk-forward stitches its folds' accounts.
// The account is the report's own: do not modify it.
func (r *Report) PolicyAccount() *Account { return r.account }

// Result is one policy's backtest: its metrics, its Apex verdict and the masked actions it
// chose (the env refuses them; must be 0).
type Result struct {
	Name          string  `json:"name"`
	Metrics       Metrics `json:"metrics"`
	Verdict       Verdict `json:"verdict"`
	MaskedActions int64   `json:"masked_actions"`
}

// ModelInfo identifies the checkpoint evaluated; the caller fills it (from
// ppo.Model.Meta and the checkpoint directory).
type ModelInfo struct {
	Dir         string `json:"dir"`
	Phase       int    `json:"phase"`
	Market      string `json:"market"`
	Timesteps   int64  `json:"timesteps"`
	Seed        uint64 `json:"seed"`
	ObsDim      int    `json:"obs_dim"`
	ToolVersion string `json:"tool_version,omitempty"`
}

// DataInfo describes the bars the report ran on.
type DataInfo struct {
	Source   string `json:"source"` // file name or synthetic:<symbol>:<seed>
	Split    string `json:"split"`  // validation, train, all, or the caller's label
	Sessions int    `json:"sessions"`
	Bars     int    `json:"bars"`  // bars stepped by the policy's backtest
	First    string `json:"first"` // first session's date
	Last     string `json:"last"`  // last session's date
}

// Rules are the rules every backtest of the report ran under.
type Rules struct {
	RuleSet        string  `json:"rule_set"` // env.ApexRuleSet
	Plan           string  `json:"plan"`
	StartBalance   float64 `json:"start_balance"`
	TrailingAmount float64 `json:"trailing_amount"`
	ProfitTarget   float64 `json:"profit_target"`
	MaxContracts   int     `json:"max_contracts"`
	ApexMode       string  `json:"apex_mode"`
	MinTradingDays int     `json:"min_trading_days"`
	Contracts      int     `json:"contracts"` // per entry (buy-and-hold: always 1)

	Symbol            string  `json:"symbol"`
	TickSize          float64 `json:"tick_size"`
	TickValue         float64 `json:"tick_value"`
	CommissionPerSide float64 `json:"commission_per_side"`
	SlippageTicks     int     `json:"slippage_ticks"`
	Zone              string  `json:"zone"`
	EntryStart        string  `json:"entry_start"`
	FlattenTime       string  `json:"flatten_time"`
	NoEntryMinutes    int     `json:"no_entry_minutes"`
}

// Input is what Build evaluates.
type Input struct {
	Dataset  *env.Dataset
	Sessions []int      // indices into Dataset.Sessions, in order; nil: every session
	Env      env.Config // the checkpoint's environment settings (plan, contracts, costs, ...)
	Actor    Actor      // the policy; its ObsDim picks the observation (261 or 228)
	Model    ModelInfo
	Split    string // label of the bars for the report (validation, all, a file's name)
	// Compare are other checkpoints to backtest on the same sessions under the same rules
	// and judge the policy against (Report.Comparisons).
	Compare []Contender
}

// Build backtests in.Actor over every session of in.Sessions as one continuous account,
// runs the baselines on the same bars and rules (unless cfg.Baselines is off) and the
// checkpoints of in.Compare, and computes their metrics and verdicts and the policy's
// comparison with each. ctx ends it early with ctx's error.
func Build(ctx context.Context, in Input, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if in.Dataset == nil || in.Actor == nil {
		return nil, errors.New("report: build: a dataset and an actor are needed")
	}
	if err := in.Env.Validate(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	spec := backtestSpec{ds: in.Dataset, cfg: in.Env, sessions: in.Sessions, obsDim: in.Actor.ObsDim()}
	var policy run
	var err error
	if policy.acc, policy.masked, err = backtest(ctx, spec, &actorDecider{a: in.Actor}); err != nil {
		return nil, fmt.Errorf("report: policy: %w", err)
	}
	var base *baselineRuns
	if cfg.Baselines {
		if base, err = runBaselines(ctx, spec, cfg); err != nil {
			return nil, err
		}
	}
	rep, err := assemble(reportMeta{
		model: in.Model, source: in.Dataset.Source, split: in.Split, env: in.Env, inst: in.Dataset.Instrument,
	}, cfg, policy, base)
	if err != nil {
		return nil, err
	}
	if err := rep.compareContenders(ctx, spec, in.Compare); err != nil {
		return nil, err
	}
	return rep, nil
}

// reportMeta is what a report says about its inputs besides the backtests.
type reportMeta struct {
	model  ModelInfo
	source string
	split  string
	env    env.Config
	inst   env.Instrument
}

// assemble computes every result from the backtests' accounts (base nil: no baselines).
func assemble(m reportMeta, cfg Config, policy run, base *baselineRuns) (*Report, error) {
	plan, err := env.LookupPlan(m.env.Plan)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	inst := m.inst
	zone := inst.Zone
	if zone == nil {
		zone = time.UTC
	}
	judge := func(name string, r run) Result {
		return Result{
			Name: name, Metrics: ComputeMetrics(r.acc), MaskedActions: r.masked,
			Verdict: ComputeVerdict(r.acc, plan, m.env.MinTradingDays, zone),
		}
	}
	rep := &Report{
		Schema: Schema, Model: m.model, Policy: judge("policy", policy),
		account: policy.acc, zone: zone, cfg: cfg,
		Rules: Rules{
			RuleSet: env.ApexRuleSet, Plan: plan.Name, StartBalance: plan.StartBalance,
			TrailingAmount: plan.TrailingAmount, ProfitTarget: plan.ProfitTarget, MaxContracts: plan.MaxContracts,
			ApexMode: m.env.ApexMode, MinTradingDays: m.env.MinTradingDays, Contracts: m.env.Contracts,
			Symbol: inst.Symbol, TickSize: inst.TickSize, TickValue: inst.TickValue(),
			CommissionPerSide: inst.CommissionPerSide, SlippageTicks: inst.SlippageTicks, Zone: zone.String(),
			EntryStart: inst.EntryStart.String(), FlattenTime: inst.FlattenTime.String(),
			NoEntryMinutes: m.env.NoEntryMinutes,
		},
	}
	days := policy.acc.Days()
	rep.Data = DataInfo{Source: m.source, Split: m.split, Sessions: len(days), Bars: len(policy.acc.Bars)}
	if len(days) > 0 {
		rep.Data.First, rep.Data.Last = days[0].Date, days[len(days)-1].Date
	}
	if base != nil {
		rep.Baselines = judgeBaselines(base, cfg.Seed, judge)
		rep.benchmark = base.buyHold.acc
	}
	return rep, nil
}
