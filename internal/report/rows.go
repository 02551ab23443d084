package report

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"hybridtrain/internal/env"
)

// RowFormat writes predict's rows as trades.csv writes trades: times RFC 3339 in the
// exchange's zone, prices with the tick's decimals, dollars with 2 decimals. The fields
// are those of docs/predict.md.
type RowFormat struct {
	zone     *time.Location
	decimals int
}

// NewRowFormat returns the format of rows of bars of inst.
func NewRowFormat(inst env.Instrument) RowFormat {
	zone := inst.Zone
	if zone == nil {
		zone = time.UTC
	}
	return RowFormat{zone: zone, decimals: tickDecimals(inst.TickSize)}
}

// RowCSVHeader is the header of predict --data's CSV.
var RowCSVHeader = []string{
	"time", "action", "p_hold", "p_buy", "p_sell", "p_move_sl_to_be", "p_enable_trail", "p_disable_trail",
	"value", "reason", "position", "entry_price", "stop", "target", "equity", "exit_reason", "exit_price", "pnl",
}

// CSV returns the row's record under RowCSVHeader: empty cells for what the row does not
// have (the decision of a bar without one, the levels of a flat account, an exit). Two
// trades closed in one bar (a stream's late flatten, then an exit) are joined with ";".
func (f RowFormat) CSV(r Row) []string {
	rec := make([]string, 0, len(RowCSVHeader))
	rec = append(rec, f.time(r.Time))
	if r.Decided {
		rec = append(rec, r.Action.String())
		for _, p := range r.Probs {
			rec = append(rec, float32String(p))
		}
		rec = append(rec, float32String(r.Value), "")
	} else {
		rec = append(rec, "", "", "", "", "", "", "", "", r.Reason)
	}
	a := &r.Account
	rec = append(rec, strconv.Itoa(a.Position))
	if a.Position != 0 {
		rec = append(rec, f.price(a.Entry), f.price(a.Stop), f.price(a.Target))
	} else {
		rec = append(rec, "", "", "")
	}
	rec = append(rec, money(a.Equity))
	var why, px, pnl []string
	for _, t := range r.Trades {
		why, px, pnl = append(why, t.Exit.String()), append(px, f.price(t.ExitPrice)), append(pnl, money(t.Net))
	}
	return append(rec, strings.Join(why, ";"), strings.Join(px, ";"), strings.Join(pnl, ";"))
}

// rowJSON is a row's JSON object. Pointers and omitempty leave out what the row does not
// have; "action" is always there (null without a decision), as are the account's fields.
type rowJSON struct {
	Line     int           `json:"line,omitempty"`
	Time     string        `json:"time"`
	Action   *string       `json:"action"`
	Probs    []json.Number `json:"probs"`
	Value    *json.Number  `json:"value"`
	Reason   string        `json:"reason,omitempty"`
	Position int           `json:"position"`
	Entry    *json.Number  `json:"entry_price"`
	Stop     *json.Number  `json:"stop"`
	Target   *json.Number  `json:"target"`
	Equity   json.Number   `json:"equity"`
	Trades   []tradeJSON   `json:"trades,omitempty"`
	Invalid  bool          `json:"invalid,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
}

// tradeJSON is a closed trade in a row, with trades.csv's fields.
type tradeJSON struct {
	Side       string      `json:"side"`
	Contracts  int         `json:"contracts"`
	EntryTime  string      `json:"entry_time"`
	EntryPrice json.Number `json:"entry_price"`
	ExitTime   string      `json:"exit_time"`
	ExitPrice  json.Number `json:"exit_price"`
	ExitReason string      `json:"exit_reason"`
	Ticks      int         `json:"ticks"`
	NetPnL     json.Number `json:"net_pnl"`
}

// JSON returns the row as one JSON object (no line end).
func (f RowFormat) JSON(r Row) ([]byte, error) {
	return json.Marshal(f.object(r))
}

// JSONDocument returns {"rows": [...]}, predict --data --json's document, indented.
func (f RowFormat) JSONDocument(rows []Row) ([]byte, error) {
	objs := make([]rowJSON, len(rows))
	for i, r := range rows {
		objs[i] = f.object(r)
	}
	return json.MarshalIndent(struct {
		Rows []rowJSON `json:"rows"`
	}{objs}, "", "  ")
}

func (f RowFormat) object(r Row) rowJSON {
	o := rowJSON{Line: r.Line, Time: f.time(r.Time), Reason: r.Reason, Invalid: r.Invalid}
	if r.Decided {
		name := r.Action.String()
		v := json.Number(float32String(r.Value))
		o.Action, o.Value = &name, &v
		o.Probs = make([]json.Number, len(r.Probs))
		for i, p := range r.Probs {
			o.Probs[i] = json.Number(float32String(p))
		}
	}
	a := &r.Account
	o.Position, o.Equity = a.Position, json.Number(money(a.Equity))
	if a.Position != 0 {
		e, s, t := json.Number(f.price(a.Entry)), json.Number(f.price(a.Stop)), json.Number(f.price(a.Target))
		o.Entry, o.Stop, o.Target = &e, &s, &t
	}
	for _, t := range r.Trades {
		side := "long"
		if t.Side < 0 {
			side = "short"
		}
		o.Trades = append(o.Trades, tradeJSON{
			Side: side, Contracts: t.Contracts,
			EntryTime: f.time(t.EntryTime), EntryPrice: json.Number(f.price(t.EntryPrice)),
			ExitTime: f.time(t.ExitTime), ExitPrice: json.Number(f.price(t.ExitPrice)),
			ExitReason: t.Exit.String(), Ticks: t.Ticks, NetPnL: json.Number(money(t.Net)),
		})
	}
	for _, w := range r.Warnings {
		o.Warnings = append(o.Warnings, w.String())
	}
	return o
}

func (f RowFormat) time(unix int64) string { return time.Unix(unix, 0).In(f.zone).Format(time.RFC3339) }

func (f RowFormat) price(p float64) string { return strconv.FormatFloat(p, 'f', f.decimals, 64) }

// float32String is the shortest decimal that reads back as x (0.1, not 0.10000000149011612).
func float32String(x float32) string { return strconv.FormatFloat(float64(x), 'g', -1, 32) }
