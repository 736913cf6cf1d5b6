pragma circom 2.1.0;

// A generic fixed-point MLP (dense layers, ReLU between them, argmax at the end) whose weights,
// biases and input are private, with Poseidon commitments to both as public outputs.
// Design and exact definitions: docs/zk.md. The TypeScript twin is src/zk/ (quantize.ts,
// commitment.ts, reference.ts); both must change together.
//
// Template parameters of Mlp:
//   L      number of dense layers (>= 1)
//   SIZES  L + 1 layer widths, input first, e.g. [4, 16, 8, 3]
//   F      fractional bits: a real value v is the integer round(v * 2^F)
//   B      bit width of every weight, bias and input value: signed, in [-2^(B-1), 2^(B-1))
//   A      activation bound: every layer output q (scale 2^F) satisfies -2^A <= q < 2^A
//   PER    values packed per field element before hashing (PER * B <= 252)

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";

// Number of weights and biases of an MLP: layer by layer, W[out][in] row-major, then b[out].
function mlpParamCount(L, SIZES) {
    var n = 0;
    for (var l = 0; l < L; l++) {
        n += SIZES[l + 1] * SIZES[l] + SIZES[l + 1];
    }
    return n;
}

function ceilDiv(a, b) {
    return (a + b - 1) \ b;
}

// Poseidon calls made by PoseidonChain(M): one for M <= 16, else 1 + ceil((M - 16) / 15).
function chainLength(M) {
    if (M <= 16) {
        return 1;
    }
    return 1 + ceilDiv(M - 16, 15);
}

// Range-checks every value as a signed B-bit integer, offsets it to unsigned (v + 2^(B-1)) and
// packs PER of them per field element, little end first:
//   packed[j] = sum_k (in[j*PER + k] + 2^(B-1)) * 2^(B*k).
template RangePack(N, B, PER) {
    signal input in[N];
    signal output packed[ceilDiv(N, PER)];

    component bits[N];
    var acc[ceilDiv(N, PER)];
    for (var j = 0; j < ceilDiv(N, PER); j++) {
        acc[j] = 0;
    }
    for (var i = 0; i < N; i++) {
        bits[i] = Num2Bits(B);
        bits[i].in <== in[i] + (1 << (B - 1));
        acc[i \ PER] += (in[i] + (1 << (B - 1))) * (1 << (B * (i % PER)));
    }
    for (var j = 0; j < ceilDiv(N, PER); j++) {
        packed[j] <== acc[j];
    }
}

// Poseidon over M field elements: M <= 16: Poseidon(in). Otherwise h = Poseidon(in[0..15]) and
// then h = Poseidon(h, next up to 15 elements) until all are absorbed; out is the last h.
template PoseidonChain(M) {
    signal input in[M];
    signal output out;

    var G = chainLength(M);
    component h[G];
    var first = M < 16 ? M : 16;
    h[0] = Poseidon(first);
    for (var k = 0; k < first; k++) {
        h[0].inputs[k] <== in[k];
    }
    var next = first;
    for (var g = 1; g < G; g++) {
        var count = M - next < 15 ? M - next : 15;
        h[g] = Poseidon(count + 1);
        h[g].inputs[0] <== h[g - 1].out;
        for (var k = 0; k < count; k++) {
            h[g].inputs[k + 1] <== in[next + k];
        }
        next += count;
    }
    out <== h[G - 1].out;
}

// acc = sum_i w[o][i] * x[i] + b[o] * 2^F (scale 2^2F), then q = floor(acc / 2^F) (scale 2^F).
// One bit decomposition of s = acc + 2^(A+F) into A+F+1 bits does the floor division (the low F
// bits are the remainder, 0 <= r < 2^F), range-checks q to [-2^A, 2^A) and gives its sign (the top
// bit is 1 iff q >= 0). This is correct for negative accumulators: field negatives p - |acc| plus
// 2^(A+F) land in [0, 2^(A+F)) exactly when -2^(A+F) <= acc < 0.
//   y[o]       = RELU ? max(q, 0) : q
//   shifted[o] = q + 2^A, in [0, 2^(A+1)) (for the argmax)
template Dense(NIN, NOUT, F, A, RELU) {
    signal input x[NIN];
    signal input w[NOUT][NIN];
    signal input b[NOUT];
    signal output y[NOUT];
    signal output shifted[NOUT];

    signal prod[NOUT][NIN];
    component bits[NOUT];
    for (var o = 0; o < NOUT; o++) {
        var acc = b[o] * (1 << F);
        for (var i = 0; i < NIN; i++) {
            prod[o][i] <== w[o][i] * x[i];
            acc += prod[o][i];
        }
        bits[o] = Num2Bits(A + F + 1);
        bits[o].in <== acc + (1 << (A + F));
        var qs = 0;
        for (var k = 0; k <= A; k++) {
            qs += bits[o].out[F + k] * (1 << k);
        }
        shifted[o] <== qs;
        if (RELU == 1) {
            y[o] <== bits[o].out[A + F] * (qs - (1 << A));
        } else {
            y[o] <== qs - (1 << A);
        }
    }
}

// Index of the largest of N non-negative NB-bit values; the first maximum wins a tie.
template ArgMax(N, NB) {
    signal input in[N];
    signal output out;

    signal best[N];
    signal idx[N];
    component gt[N];
    best[0] <== in[0];
    idx[0] <== 0;
    for (var i = 1; i < N; i++) {
        gt[i] = LessThan(NB);
        gt[i].in[0] <== best[i - 1];
        gt[i].in[1] <== in[i];
        best[i] <== best[i - 1] + gt[i].out * (in[i] - best[i - 1]);
        idx[i] <== idx[i - 1] + gt[i].out * (i - idx[i - 1]);
    }
    out <== idx[N - 1];
}

template Mlp(L, SIZES, F, B, A, PER) {
    assert(L >= 1);
    assert(PER * B <= 252);
    assert(A + F + 2 <= 252);
    var NP = mlpParamCount(L, SIZES);
    var NIN = SIZES[0];
    var NOUT = SIZES[L];

    signal input weights[NP];
    signal input x[NIN];
    signal input binding;
    signal output out;
    signal output weightCommitment;
    signal output inputCommitment;

    // Commitments (the bit decompositions are also the range checks of weights, biases and input).
    component wPack = RangePack(NP, B, PER);
    wPack.in <== weights;
    component wHash = PoseidonChain(ceilDiv(NP, PER));
    wHash.in <== wPack.packed;
    weightCommitment <== wHash.out;

    component xPack = RangePack(NIN, B, PER);
    xPack.in <== x;
    component xHash = PoseidonChain(ceilDiv(NIN, PER));
    xHash.in <== xPack.packed;
    inputCommitment <== xHash.out;

    // Layers.
    component layer[L];
    var offset = 0;
    for (var l = 0; l < L; l++) {
        var nIn = SIZES[l];
        var nOut = SIZES[l + 1];
        layer[l] = Dense(nIn, nOut, F, A, l < L - 1 ? 1 : 0);
        for (var i = 0; i < nIn; i++) {
            if (l == 0) {
                layer[l].x[i] <== x[i];
            } else {
                layer[l].x[i] <== layer[l - 1].y[i];
            }
        }
        for (var o = 0; o < nOut; o++) {
            for (var i = 0; i < nIn; i++) {
                layer[l].w[o][i] <== weights[offset + o * nIn + i];
            }
        }
        offset += nOut * nIn;
        for (var o = 0; o < nOut; o++) {
            layer[l].b[o] <== weights[offset + o];
        }
        offset += nOut;
    }

    component argmax = ArgMax(NOUT, A + 1);
    argmax.in <== layer[L - 1].shifted;
    out <== argmax.out;

    // The binding is a public input the circuit does not otherwise use; squaring it keeps it in
    // the constraint system (Groth16 ties every public input to the proof in any case).
    signal bindingSq;
    bindingSq <== binding * binding;
}
