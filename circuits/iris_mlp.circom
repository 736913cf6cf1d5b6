pragma circom 2.1.0;

// The Iris classifier (models/iris-mlp.onnx): 4 -> 16 -> 8 -> 3, fixed point F = 10, 16-bit
// weights/biases/input, activations below 2^24 at scale 2^10, 15 values packed per field element.
// Public signals: [out, weightCommitment, inputCommitment, binding]. See docs/zk.md.

include "mlp.circom";

component main {public [binding]} = Mlp(3, [4, 16, 8, 3], 10, 16, 24, 15);
