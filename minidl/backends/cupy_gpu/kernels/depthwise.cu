// Depthwise 2-D convolution on the GPU: float32, NCHW, C-contiguous arrays.
//
// Notation (as in minidl/backends/numpy_ref/depthwise.py, the definition):
//
//   x: (N, C, H, W)    w: (C*M, 1, KH, KW)    y, gy: (N, C*M, OH, OW)
//   y[n, o, oy, ox] = sum_{i, j} w[o, i, j] * x[n, o / M, oy*SY - PY + i, ox*SX - PX + j]
//
// with M the depth multiplier and taps outside the image reading 0.
//
// Three kernels, one per gradient, none with atomics:
//   * forward      one thread per output element;
//   * grad_input   one thread per input element, GATHERING the outputs that read it;
//   * grad_filter  one block per weight element, reducing over batch and space in
//                  shared memory.
//
// Template parameters K (square kernel size) and S (stride, both axes) are compile-time
// constants for MobileNet's 3x3 stride 1 and 2, so the tap loops unroll and the divisions
// by the stride become shifts; K = 0 or S = 0 takes the run-time KH, KW / SY, SX instead.
// The geometry arguments are the same for the three kernels (the caller builds them once).
//
// This file has no #include: CuPy compiles it with NVRTC (cupy.RawModule), the tests with
// nvcc (a compile check) and with g++ (tests/cuda_emulation.h runs it on the CPU).

#define DEPTHWISE_GEOMETRY                                                     \
    int N, int C, int H, int W, int M, int OH, int OW, int KH, int KW, int SY, \
        int SX, int PY, int PX

// The most threads a grad_filter block may have (the shared array below).
#define DEPTHWISE_MAX_THREADS 512

__device__ __forceinline__ int depthwise_min(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int depthwise_max(int a, int b) { return a > b ? a : b; }

// Grid-stride loop: any grid covers any size, and a capped grid still visits everything.
#define DEPTHWISE_FOR_EACH(index, total)                                       \
    for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < (total);  \
         index += blockDim.x * gridDim.x)

template <int K, int S>
__global__ void depthwise_conv2d_forward_kernel(const float* __restrict__ x,
                                                const float* __restrict__ w,
                                                float* __restrict__ y,
                                                DEPTHWISE_GEOMETRY) {
    const int kh = K ? K : KH, kw = K ? K : KW;
    const int sy = S ? S : SY, sx = S ? S : SX;
    const int out_channels = C * M;
    DEPTHWISE_FOR_EACH(index, N * out_channels * OH * OW) {
        const int ox = index % OW;
        const int oy = (index / OW) % OH;
        const int o = (index / (OW * OH)) % out_channels;
        const int n = index / (OW * OH * out_channels);
        const float* plane = x + (n * C + o / M) * H * W;
        const float* filter = w + o * kh * kw;
        const int top = oy * sy - PY, left = ox * sx - PX;
        float sum = 0.0f;
        if (top >= 0 && left >= 0 && top + kh <= H && left + kw <= W) {
            // Interior window (most of them): every tap is inside, no test at all.
            const float* window = plane + top * W + left;
#pragma unroll
            for (int i = 0; i < kh; ++i) {
#pragma unroll
                for (int j = 0; j < kw; ++j) sum += filter[i * kw + j] * window[i * W + j];
            }
        } else {
            // Border window: the loops are clipped to the image instead of testing each tap.
            const int i_end = depthwise_min(kh, H - top), j_end = depthwise_min(kw, W - left);
            for (int i = depthwise_max(0, -top); i < i_end; ++i) {
                for (int j = depthwise_max(0, -left); j < j_end; ++j) {
                    sum += filter[i * kw + j] * plane[(top + i) * W + left + j];
                }
            }
        }
        y[index] = sum;
    }
}

// First tap of one axis that reaches input position t (= index + padding) from a valid
// output: taps i = t - o*s for outputs o in [0, out), so i runs over [t - (out-1)*s, t]
// in steps of s, clipped to [0, k). Returns the smallest such i >= 0 with i == t (mod s).
__device__ __forceinline__ int depthwise_first_tap(int t, int out, int s) {
    const int first = depthwise_max(0, t - (out - 1) * s);
    return first + (t - first) % s;
}

template <int K, int S>
__global__ void depthwise_conv2d_grad_input_kernel(const float* __restrict__ gy,
                                                   const float* __restrict__ w,
                                                   float* __restrict__ gx,
                                                   DEPTHWISE_GEOMETRY) {
    const int kh = K ? K : KH, kw = K ? K : KW;
    const int sy = S ? S : SY, sx = S ? S : SX;
    DEPTHWISE_FOR_EACH(index, N * C * H * W) {
        const int ix = index % W;
        const int iy = (index / W) % H;
        const int c = (index / (W * H)) % C;
        const int n = index / (W * H * C);
        // Output (oy, ox) reads this input through tap (i, j) when oy*sy + i == ty and
        // ox*sx + j == tx, in padded coordinates.
        const int ty = iy + PY, tx = ix + PX;
        float sum = 0.0f;
        if (S == 1 && K > 0 && ty >= kh - 1 && ty < OH && tx >= kw - 1 && tx < OW) {
            // Stride 1, interior: all kh*kw taps come from valid outputs; unrolled.
            for (int m = 0; m < M; ++m) {
                const int o = c * M + m;
                const float* g = gy + ((n * C * M + o) * OH + ty) * OW + tx;
                const float* f = w + o * kh * kw;
#pragma unroll
                for (int i = 0; i < kh; ++i) {
#pragma unroll
                    for (int j = 0; j < kw; ++j) sum += f[i * kw + j] * g[-i * OW - j];
                }
            }
        } else {
            const int i_first = depthwise_first_tap(ty, OH, sy);
            const int j_first = depthwise_first_tap(tx, OW, sx);
            const int i_last = depthwise_min(kh - 1, ty), j_last = depthwise_min(kw - 1, tx);
            for (int m = 0; m < M; ++m) {
                const int o = c * M + m;
                const float* g = gy + (n * C * M + o) * OH * OW;
                const float* f = w + o * kh * kw;
                for (int i = i_first; i <= i_last; i += sy) {
                    const float* g_row = g + ((ty - i) / sy) * OW;
                    for (int j = j_first; j <= j_last; j += sx) {
                        sum += f[i * kw + j] * g_row[(tx - j) / sx];
                    }
                }
            }
        }
        gx[index] = sum;
    }
}

// Outputs o in [0, out) whose tap i lands inside [0, size): 0 <= o*s - p + i < size.
// Writes the first such o and returns how many there are (0 if none).
__device__ __forceinline__ int depthwise_valid_outputs(int size, int out, int s, int p, int i,
                                                      int* first) {
    const int low = p - i;               // need o*s >= low
    const int high = size - 1 + p - i;   // need o*s <= high
    *first = low > 0 ? (low + s - 1) / s : 0;
    if (high < 0) return 0;
    return depthwise_max(0, depthwise_min(out, high / s + 1) - *first);
}

template <int K, int S>
__global__ void depthwise_conv2d_grad_filter_kernel(const float* __restrict__ x,
                                                    const float* __restrict__ gy,
                                                    float* __restrict__ gw,
                                                    DEPTHWISE_GEOMETRY) {
    // blockDim.x must be a power of two <= DEPTHWISE_MAX_THREADS (the tree reduction).
    __shared__ float partial[DEPTHWISE_MAX_THREADS];
    const int kh = K ? K : KH, kw = K ? K : KW;
    const int sy = S ? S : SY, sx = S ? S : SX;
    const int tap = blockIdx.x;  // = (o * kh + i) * kw + j: one block per weight element
    const int j = tap % kw, i = (tap / kw) % kh, o = tap / (kw * kh);
    // Only the outputs whose tap lies inside the image contribute: walk exactly those
    // (a rows x cols rectangle per sample), so the loop body has no bounds test.
    int oy_first, ox_first;
    const int rows = depthwise_valid_outputs(H, OH, sy, PY, i, &oy_first);
    const int cols = depthwise_valid_outputs(W, OW, sx, PX, j, &ox_first);
    const float* g = gy + (o * OH + oy_first) * OW + ox_first;
    const float* plane = x + ((o / M) * H + oy_first * sy - PY + i) * W + ox_first * sx - PX + j;
    const int per_sample = rows * cols;
    const int thread = threadIdx.x, threads = blockDim.x;
    float sum = 0.0f;
    if (thread < N * per_sample) {  // (none at all when this tap never lands inside)
        // This thread takes positions thread, thread + threads, ... of the N x rows x cols
        // rectangle. (n, row, col) advances by `threads` with carries instead of being
        // divided out of the position every time: three integer divisions per product
        // would cost more than the product.
        const int step_n = threads / per_sample;
        const int step_row = threads % per_sample / cols, step_col = threads % cols;
        int n = thread / per_sample, row = thread % per_sample / cols, col = thread % cols;
        while (n < N) {
            sum += g[(n * C * M * OH + row) * OW + col] *
                   plane[(n * C * H + row * sy) * W + col * sx];
            col += step_col;
            row += step_row;
            n += step_n;
            if (col >= cols) {
                col -= cols;
                ++row;
            }
            if (row >= rows) {
                row -= rows;
                ++n;
            }
        }
    }
    partial[thread] = sum;
    __syncthreads();
    for (int half = threads / 2; half > 0; half /= 2) {
        if (thread < half) partial[thread] += partial[thread + half];
        __syncthreads();
    }
    if (thread == 0) gw[tap] = partial[0];
}
