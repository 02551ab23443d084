// Package sb3 imports a stable-baselines3 model and its VecNormalize as a Phase 2 checkpoint.
//
// It reads a MaskablePPO model and its VecNormalize statistics and turns them into the
// checkpoint this tool's Phase 2 training writes. It sits beside internal/ppo, between
// internal/policy (whose checkpoint container it fills) and the command line (`hybridtrain
// import sb3`); nothing but cmd/hybridtrain imports it. It reads, and never runs, what
// Python wrote:
//
//   - MODEL.zip, what MaskablePPO.save (and PPO.save) writes: "data", the JSON of the
//     algorithm's attributes (policy_kwargs, the observation and action spaces,
//     hyperparameters; its ":serialized:" cloudpickle blobs are never decoded), and
//     "policy.pth", the policy's state dict in torch.save's zip format (data.pkl, a
//     pickle whose tensors are persistent references to the raw storages data/<key>).
//     policy.optimizer.pth, pytorch_variables.pth and system_info.txt are not read:
//     `train --base` starts Adam afresh, as it does from this tool's own checkpoints.
//   - STATS.pkl, what VecNormalize.save writes: a pickle (protocols 2 to 5) of the
//     VecNormalize object, whose obs_rms and ret_rms are RunningMeanStd objects holding
//     numpy arrays, under numpy 1 (numpy.core) or numpy 2 (numpy._core) module paths.
//
// Pickles are decoded with github.com/nlpodyssey/gopickle behind two guards. A scan of the
// opcode stream first (pickle.go) refuses anything but protocols 2 to 5, unknown opcodes,
// lengths beyond the data, and more than a fixed number of opcodes, so that no length in
// the file sizes an allocation. Then every global the pickle names is looked up in a fixed
// allow-list (classes.go): the numpy, torch and collections reconstructors these files
// use, built as Go values; the SB3 and gymnasium classes as inert objects holding their
// attributes. Any other name is ErrForbidden. Nothing is ever called by name: Python's own
// pickle.load would run whatever callable the file names.
//
// What comes out (Convert): the state dict's weights under the same names, float32 in
// PyTorch's orientation, exactly as this tool's model.safetensors stores them; obs_rms and
// ret_rms as the float64 normaliser tensors the trainer writes (SB3's one count becomes
// every feature's count); metadata.json for Phase 2 with obs_dim = base_obs_dim = 228, the
// architecture read from the state dict's shapes and the activation from policy_kwargs;
// norm_obs and clip_obs in its configuration. There is no state.json: the checkpoint can
// be evaluated, inspected, predicted with and transferred (`train --base`), not resumed.
//
// Supported: separate pi and vf MLPs of any widths (at least one hidden layer each), ReLU
// or Tanh (SB3's default when policy_kwargs names none), Box(228) observations flattened
// as they are, Discrete(6) actions. Anything else is refused with an *Error that names the
// file, the zip entry and the key or tensor at fault; every error matches
// policy.ErrCheckpoint (exit code 4) and one of ErrCorrupt, ErrMissing, ErrUnsupported,
// ErrForbidden, ErrValues. docs/sb3.md is the user's guide.
package sb3
