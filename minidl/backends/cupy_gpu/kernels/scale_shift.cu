// A batch norm folded into the convolution before it, applied to the convolution's output:
// float32, NCHW, C-contiguous.
//
//   x, y: (N, F, L)    y[n, f, l] = act(x[n, f, l] * scale[f] + shift[f])
//
// with act the ReLU when relu != 0, else the identity (the definition is the reference,
// minidl/backends/numpy_ref/conv_batch_norm.py; scale and shift are folded in
// conv_batch_norm.py). One thread per element, grid-stride: one pass over the output in
// place of the batch norm's several element-wise kernels. x and y may be the same array
// (the backend runs it in place): each element is read, then written, by one thread.
//
// This file has no #include: CuPy compiles it with NVRTC (cupy.RawModule), the tests with
// nvcc (a compile check) and with g++ (tests/cuda_emulation.h runs it on the CPU).

extern "C" __global__ void scale_shift_act_kernel(const float* x, const float* scale,
                                                  const float* shift, float* y, int total,
                                                  int F, int L, int relu) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += blockDim.x * gridDim.x) {
        int f = (i / L) % F;
        float v = x[i] * scale[f] + shift[f];
        y[i] = (relu && v < 0.0f) ? 0.0f : v;
    }
}
