package report_test

import (
	"fmt"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/report"
)

// buyWhenFlat is a toy Predictor: BUY whenever the mask allows it, else HOLD, with all its
// probability on that action. predict passes a *ppo.Model, a checkpoint's policy.
type buyWhenFlat struct{}

func (buyWhenFlat) ObsDim() int { return env.ObsDim }

func (buyWhenFlat) Forward(_ []float32, masks []bool, rows int, out *policy.ForwardResult) error {
	out.Logits, out.Probs, out.Values, out.Actions = make([]float32, 6*rows), make([]float32, 6*rows), make([]float32, rows), make([]int32, rows)
	for r := range rows {
		a := env.Hold
		if masks[r*6+int(env.Buy)] {
			a = env.Buy
		}
		out.Actions[r], out.Probs[r*6+int(a)] = int32(a), 1
	}
	return nil
}

// A stream of NQ bars, one line at a time, as predict --stream reads them: each line is
// answered at once with the account after the bar and the decision for the next bar's
// open. The first 19 bars are the warm-up; after the 09:29 bar the policy buys at the 09:30
// open, filled one tick worse (18000.25), its stop sl_atr = 1.5 ATRs below (ATR 4: 6
// points) and its target tp_ratio = 3 times that above; the 09:30 line shows the position
// and the equity less the entry's commission and slippage.
func ExampleStream() {
	inst, _ := env.BuiltinInstrument("NQ")
	s, err := report.NewStream("stdin", inst, env.DefaultConfig(), buyWhenFlat{})
	if err != nil {
		panic(err)
	}
	f := report.NewRowFormat(inst)
	if err := s.Header("timestamp,open,high,low,close,volume"); err != nil {
		panic(err)
	}
	for m := 0; m < 24; m++ { // 09:08 to 09:31 New York (EST: UTC-5)
		line := fmt.Sprintf("2024-03-08T14:%02d:00Z,18000,18002,17998,18000,100", 8+m)
		row, _, err := s.Line(line)
		if err != nil {
			panic(err)
		}
		if m == 0 || m >= 19 {
			b, _ := f.JSON(row)
			fmt.Println(string(b))
		}
	}
	// A bad line is answered with its error, and the stream goes on.
	_, _, err = s.Line("2024-03-08T14:32:00Z,18000,abc,17998,18000,100")
	fmt.Println(err)
	// Output:
	// {"line":2,"time":"2024-03-08T09:08:00-05:00","action":null,"probs":null,"value":null,"reason":"warm-up","position":0,"entry_price":null,"stop":null,"target":null,"equity":50000.00}
	// {"line":21,"time":"2024-03-08T09:27:00-05:00","action":null,"probs":null,"value":null,"reason":"before the entry window","position":0,"entry_price":null,"stop":null,"target":null,"equity":50000.00}
	// {"line":22,"time":"2024-03-08T09:28:00-05:00","action":null,"probs":null,"value":null,"reason":"before the entry window","position":0,"entry_price":null,"stop":null,"target":null,"equity":50000.00}
	// {"line":23,"time":"2024-03-08T09:29:00-05:00","action":"BUY","probs":[0,1,0,0,0,0],"value":0,"position":0,"entry_price":null,"stop":null,"target":null,"equity":50000.00}
	// {"line":24,"time":"2024-03-08T09:30:00-05:00","action":"HOLD","probs":[1,0,0,0,0,0],"value":0,"position":1,"entry_price":18000.25,"stop":17994.25,"target":18018.25,"equity":49992.50}
	// {"line":25,"time":"2024-03-08T09:31:00-05:00","action":"HOLD","probs":[1,0,0,0,0,0],"value":0,"position":1,"entry_price":18000.25,"stop":17994.25,"target":18018.25,"equity":49992.50}
	// stdin:26:3: high "abc": not a number
}
