// Runs CUDA kernels on the CPU, so their index arithmetic is tested where there is no GPU.
//
// Included by tests/cuda_emulation.py before a kernel source (*.cu) and compiled with g++.
// Each CUDA thread of a block is a fiber (ucontext): it runs until it returns or calls
// __syncthreads(), which switches back to the block's scheduler. The scheduler resumes
// every live fiber once per round, so all threads reach a barrier before any passes it --
// CUDA's rule -- and a barrier that only some threads reach is reported as an error.
// Blocks run one after another, so `static` stands in for `__shared__`.
//
// Not emulated: warps (no shuffles or warp votes), concurrency between blocks, atomics.

#include <ucontext.h>

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

static dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

namespace cuda_emulation {

struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    bool done = false;
};

static ucontext_t scheduler;
static Fiber* running = nullptr;
static std::function<void()> thread_body;
static char error[256] = "";

static void fiber_main() {
    thread_body();
    running->done = true;  // returning resumes uc_link, the scheduler
}

// One block: blockDim.x fibers, resumed round by round until every one has returned.
static bool run_block() {
    std::vector<Fiber> fibers(blockDim.x);
    for (Fiber& fiber : fibers) {
        fiber.stack.resize(1 << 16);
        getcontext(&fiber.context);
        fiber.context.uc_stack.ss_sp = fiber.stack.data();
        fiber.context.uc_stack.ss_size = fiber.stack.size();
        fiber.context.uc_link = &scheduler;
        makecontext(&fiber.context, fiber_main, 0);
    }
    for (;;) {
        unsigned live = 0, at_barrier = 0;
        for (unsigned t = 0; t < blockDim.x; ++t) {
            Fiber& fiber = fibers[t];
            if (fiber.done) continue;
            ++live;
            threadIdx.x = t;
            running = &fiber;
            swapcontext(&scheduler, &fiber.context);
            if (!fiber.done) ++at_barrier;
        }
        if (at_barrier == 0) return true;
        if (at_barrier != live) {
            std::snprintf(error, sizeof error,
                          "block %u: __syncthreads() reached by %u of %u threads", blockIdx.x,
                          at_barrier, live);
            return false;
        }
    }
}

template <typename... Args, std::size_t... I>
void call(void (*kernel)(Args...), void** argv, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<Args>*>(argv[I])...);
}

// Launch `kernel` on a 1-D grid. argv[i] points at argument i; sizes[i] is its size in
// bytes as the caller laid it out, checked against the C signature (a 64-bit integer
// passed for an `int` is a bug the GPU would not report).
template <typename... Args>
int launch(void (*kernel)(Args...), unsigned grid, unsigned block, void** argv,
           const long* sizes, int count) {
    const long expected[] = {static_cast<long>(sizeof(Args))...};
    if (count != static_cast<int>(sizeof...(Args))) {
        std::snprintf(error, sizeof error, "%d arguments for a kernel taking %d", count,
                      static_cast<int>(sizeof...(Args)));
        return 1;
    }
    for (int i = 0; i < count; ++i) {
        if (sizes[i] != expected[i]) {
            std::snprintf(error, sizeof error, "argument %d has %ld bytes, the kernel takes %ld",
                          i, sizes[i], expected[i]);
            return 1;
        }
    }
    gridDim = dim3{grid, 1, 1};
    blockDim = dim3{block, 1, 1};
    thread_body = [&] { call(kernel, argv, std::index_sequence_for<Args...>{}); };
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx = dim3{b, 1, 1};
        if (!run_block()) return 1;
    }
    return 0;
}

// '1' for each argument the kernel may write (a pointer to non-const), '0' otherwise:
// the caller fills those arrays with NaN first, so an element never written shows up.
template <typename... Args>
const char* output_mask(void (*)(Args...)) {
    static const std::string mask = {
        (std::is_pointer_v<Args> && !std::is_const_v<std::remove_pointer_t<Args>> ? '1'
                                                                                   : '0')...};
    return mask.c_str();
}

}  // namespace cuda_emulation

// The barrier: back to the scheduler, which resumes this thread in the next round.
inline void __syncthreads() {
    swapcontext(&cuda_emulation::running->context, &cuda_emulation::scheduler);
}

extern "C" const char* cuda_emulation_error() { return cuda_emulation::error; }
