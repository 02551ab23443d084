// Package adapter is the learnable 261 -> 228 first layer of a Phase 3 policy.
//
// It is Linear(261 -> 228), initialised to the identity on the first 228 inputs and zero
// on the 33 context inputs (bias zero), so that a freshly built Phase 3 policy behaves
// exactly as the Phase 2 policy it extends.
//
// The adapter is where observations cross from the host to the policy's device: Input and
// Forward take host observations and move them to the adapter's own device first. Its
// device is derived from its parameters, never stored beside them. It imports only
// internal/device.
package adapter
