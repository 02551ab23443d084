// Command hybridtrain trains futures-trading policies with maskable PPO.
//
// It is the command line over internal/env, internal/device, internal/adapter,
// internal/policy, internal/ppo and internal/report (see README.md, docs/cli.md,
// docs/configuration.md and docs/architecture.md).
//
// Layout: main.go is a shim (signal-aware context, run, os.Exit); run.go maps errors to exit
// codes, the only place that does; root.go builds the command tree, one command per file,
// each built by a function (train.go, smoke.go for test with its checks in smoke_checks.go,
// eval.go, data*.go, inspect.go, device.go, version.go, completion.go). keys.go holds the
// table of configuration keys that drives flags, environment variables, validation,
// docs/configuration.md and the tests; config.go applies the layers with a local viper.
// progress.go implements ppo.Recorder; interact.go owns the terminal and prompter
// interfaces the tests replace.
package main
