/* The CUDA emulator's runtime: device memory, streams, launches as fibers,
 * and the reference cuBLAS (cuda_runtime.h and cublas_v2.h say what each
 * promises; README.md why it exists). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "cublas_v2.h"
#include "cuda_runtime.h"

dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

std::recursive_mutex lock;

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cuda-emu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------------ errors -- */

cudaError_t last_error = cudaSuccess; /* cudaGetLastError: returned and reset */
cudaError_t sticky = cudaSuccess;     /* a failed launch spoils the context */

cudaError_t fail(cudaError_t e)
{
    last_error = e;
    return e;
}

/* ------------------------------------------------------------- shuffle -- */

uint64_t rng_state;

uint64_t next_random()
{
    if (!rng_state) {
        const char *s = getenv("POL_EMU_SEED");
        rng_state = s && *s ? strtoull(s, NULL, 10) * 2 + 1 : 0x9E3779B97F4A7C15ull;
    }
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

template <typename T> void shuffle(std::vector<T> &v)
{
    for (size_t i = v.size(); i > 1; i--)
        std::swap(v[i - 1], v[next_random() % i]);
}

/* ------------------------------------------------------ device memory -- */

struct allocation {
    char *base;
    size_t size, mapped;
};
std::vector<allocation> allocs;
int open_depth; /* > 0: device memory is readable and writable */

/* The allocation holding [p, p + bytes); for bytes 0, the one p is in or
 * one past the end of (an allocation that starts at p first). */
const allocation *find_range(const void *p, size_t bytes)
{
    const char *c = static_cast<const char *>(p);
    const allocation *end_of = nullptr;
    for (const allocation &a : allocs) {
        if (c >= a.base && c < a.base + a.size)
            return bytes <= (size_t)(a.base + a.size - c) ? &a : nullptr;
        if (!bytes && c == a.base + a.size)
            end_of = &a;
    }
    return end_of;
}

/* 1 when some byte of [p, p + n) is device memory. */
bool overlaps(const void *p, size_t n)
{
    const char *c = static_cast<const char *>(p);
    for (const allocation &a : allocs)
        if (c < a.base + a.size && a.base < c + n)
            return true;
    return false;
}

size_t allocated_bytes()
{
    size_t n = 0;
    for (const allocation &a : allocs)
        n += a.size;
    return n;
}

/* cudaMalloc calls refused for want of device memory (POL_EMU_REFUSED) */
size_t refused_allocs;

size_t device_bytes()
{
    const char *s = getenv("POL_EMU_MEM");
    return s && *s ? (size_t)strtoull(s, NULL, 10) : (size_t)16 << 30;
}

void protect(const allocation &a, bool open)
{
    if (mprotect(a.base, a.mapped, open ? PROT_READ | PROT_WRITE : PROT_NONE)) {
        say("mprotect failed");
        abort();
    }
}

/* Opens device memory to the code that follows, until the matching close. */
struct open_scope {
    open_scope()
    {
        if (open_depth++ == 0)
            for (const allocation &a : allocs)
                protect(a, true);
    }
    ~open_scope()
    {
        if (--open_depth == 0)
            for (const allocation &a : allocs)
                protect(a, false);
    }
};

struct sigaction old_segv;

void on_segv(int sig, siginfo_t *si, void *uc)
{
    if (overlaps(si->si_addr, 1) && open_depth == 0) {
        static const char msg[] = "cuda-emu: host code dereferenced device memory\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
    }
    /* then the default action (or the earlier handler) */
    sigaction(SIGSEGV, &old_segv, nullptr);
    (void)sig, (void)uc;
}

void install_segv_handler()
{
    static bool done;
    if (done)
        return;
    done = true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, &old_segv);
}

/* ------------------------------------------------------------- streams -- */

struct stream_set {
    std::vector<cudaStream_t> live;
    std::vector<cudaStream_t> blocking; /* made without cudaStreamNonBlocking */
    bool ok(cudaStream_t s) const
    {
        return !s || std::find(live.begin(), live.end(), s) != live.end();
    }
    bool nonblocking(cudaStream_t s) const
    {
        return s && std::find(blocking.begin(), blocking.end(), s) == blocking.end();
    }
} streams;

/* Work per stream (launches, copies, sets, cuBLAS calls): a count, for the
 * events' check, and whether some of it may still be in flight on a device
 * (until a synchronize, a download on that stream, or an event after it is
 * waited for). The legacy default stream (NULL) counts as a stream. libpol's
 * streams are non-blocking: on a device, work on the legacy stream and work
 * on such a stream are not ordered. Work on one while the other has work in
 * flight is an error here (`what` names the call). */
struct stream_work {
    cudaStream_t s;
    uint64_t n;
    bool pending;
};
std::vector<stream_work> work;
uint64_t total_work;

stream_work *work_entry(cudaStream_t s)
{
    for (auto &w : work)
        if (w.s == s)
            return &w;
    work.push_back(stream_work{ s, 0, false });
    return &work.back();
}

/* cudaMemcpyAsync between device memory and pageable host memory: CUDA
 * says such a copy "might be synchronous with respect to host", not that it
 * is. Here neither direction is:
 *  - a download (device to host) leaves 0xFF bytes (a NaN, or -1) in the
 *    destination until its stream is synchronized (cudaStreamSynchronize,
 *    an event recorded after it and waited for, cudaDeviceSynchronize,
 *    cudaFree, or a synchronous device-to-host cudaMemcpy on the legacy
 *    stream), and only then gets the bytes the copy read when its turn came
 *    (at the call: the work before it is done by then). Host code that reads
 *    a download before it waits for the stream reads 0xFF;
 *  - an upload (host to device) reads its source when the stream's next
 *    work starts, or at such a synchronization, whichever comes first. Host
 *    code that changes or frees the source before then uploads what is
 *    there then. */
struct late_copy {
    cudaStream_t s;
    void *dst;
    const void *src;         /* an upload's host source, read on delivery */
    size_t n;
    std::vector<char> bytes; /* a download's bytes, written on delivery */
};
std::vector<late_copy> late;

void deliver(cudaStream_t s, bool all, bool uploads_only)
{
    for (size_t i = 0; i < late.size();) {
        late_copy &c = late[i];
        if ((all || c.s == s) && (!uploads_only || c.src)) {
            if (c.src) {
                open_scope o;
                memmove(c.dst, c.src, c.n);
            } else {
                memcpy(c.dst, c.bytes.data(), c.n);
            }
            late.erase(late.begin() + (long)i);
        } else {
            i++;
        }
    }
}

bool count_work(cudaStream_t s, const char *what)
{
    for (const auto &w : work)
        if (w.pending && w.s != s &&
            ((!w.s && streams.nonblocking(s)) || (!s && streams.nonblocking(w.s)))) {
            say("%s on %s while %s has work in flight: on a device the two are not ordered "
                "(libpol's streams are non-blocking)", what,
                s ? "a non-blocking stream" : "the legacy default stream",
                w.s ? "a non-blocking stream" : "the legacy default stream");
            fail(cudaErrorInvalidValue);
            return false;
        }
    deliver(s, false, true); /* the stream's uploads come before its next work */
    total_work++;
    stream_work *w = work_entry(s);
    w->n++;
    w->pending = true;
    return true;
}

uint64_t work_of(cudaStream_t s) { return work_entry(s)->n; }

void settle(cudaStream_t s)
{
    work_entry(s)->pending = false;
    deliver(s, false, false);
}

void settle_all()
{
    for (auto &w : work)
        w.pending = false;
    deliver(nullptr, true, false);
}

struct event {
    cudaStream_t stream;
    uint64_t own, all; /* work_of(stream) and total_work when recorded */
    double t;          /* seconds, CLOCK_MONOTONIC */
    bool recorded;
};
std::vector<event *> events;

bool event_ok(cudaEvent_t e)
{
    event *v = reinterpret_cast<event *>(e);
    return v && std::find(events.begin(), events.end(), v) != events.end();
}

/* ------------------------------------------------------------- fibers --
 * A fiber runs threads of the current block one after another on its own
 * stack. A thread that reaches __syncthreads keeps its fiber until the
 * barrier opens; the next thread starts on another fiber. So a block needs
 * as many fibers as threads wait at a barrier at once, plus one.
 *
 * Switching: on x86-64 a few instructions that save the callee-saved
 * registers, MXCSR and the x87 control word on the old stack and restore
 * them from the new one (swapcontext also makes a system call for the
 * signal mask, which made the emulator ten times slower); elsewhere
 * swapcontext. */

const size_t STACK = 256 << 10;

#if defined(__x86_64__)
struct context {
    void *sp;
};
extern "C" void pol_emu_switch(context *from, context *to);
asm(".text\n"
    ".globl pol_emu_switch\n"
    ".type pol_emu_switch, @function\n"
    "pol_emu_switch:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    subq $8, %rsp\n"
    "    stmxcsr (%rsp)\n"
    "    fnstcw 4(%rsp)\n"
    "    movq %rsp, (%rdi)\n"
    "    movq (%rsi), %rsp\n"
    "    ldmxcsr (%rsp)\n"
    "    fldcw 4(%rsp)\n"
    "    addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    ".size pol_emu_switch, .-pol_emu_switch\n");

void switch_to(context *from, context *to) { pol_emu_switch(from, to); }

/* A new context on [stack, stack + size) that starts in entry(): the frame
 * pol_emu_switch pops (MXCSR and control word of now, six zero registers)
 * under entry's address; entry starts with rsp = 8 mod 16 as after a call. */
void make_context(context *c, char *stack, size_t size, void (*entry)())
{
    uint64_t *top = reinterpret_cast<uint64_t *>(
        reinterpret_cast<uintptr_t>(stack + size) & ~static_cast<uintptr_t>(15));
    *--top = 0;                                 /* entry's return address: never used */
    *--top = reinterpret_cast<uint64_t>(entry); /* popped by ret */
    for (int i = 0; i < 6; i++)
        *--top = 0;                             /* rbp, rbx, r12 - r15 */
    uint32_t csr[2] = { 0, 0 };
    asm volatile("stmxcsr %0" : "=m"(csr[0]));
    asm volatile("fnstcw %0" : "=m"(csr[1]));
    --top;
    memcpy(top, csr, 8);
    c->sp = top;
}
#else
struct context {
    ucontext_t uc;
};

void switch_to(context *from, context *to) { swapcontext(&from->uc, &to->uc); }

void make_context(context *c, char *stack, size_t size, void (*entry)())
{
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = stack;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = nullptr;
    makecontext(&c->uc, entry, 0);
}
#endif

struct fiber {
    context ctx;
    char *stack;
    int thread = -1;   /* the thread it runs, -1: idle */
    bool fresh = true; /* no context yet (or abandoned): start from fiber_main */
    bool waiting = false;
};

context sched_ctx;
std::vector<fiber *> pool;
fiber *cur;

struct block_state {
    dim3 dim;
    std::vector<int> order; /* threads in start order */
    size_t next;
    int done;
    void (*body)(void *);
    void *ctx;
} blk;

void set_thread(int t)
{
    threadIdx = dim3(t % blk.dim.x, (t / blk.dim.x) % blk.dim.y, t / (blk.dim.x * blk.dim.y));
}

void fiber_main()
{
    for (;;) {
        while (blk.next < blk.order.size()) {
            const int t = blk.order[blk.next++];
            cur->thread = t;
            set_thread(t);
            blk.body(blk.ctx);
            blk.done++;
            cur->thread = -1;
        }
        switch_to(&cur->ctx, &sched_ctx); /* idle until given the next block */
    }
}

fiber *idle_fiber(size_t *cursor)
{
    while (*cursor < pool.size() && pool[*cursor]->thread >= 0)
        ++*cursor;
    if (*cursor == pool.size()) {
        fiber *f = new fiber;
        f->stack = static_cast<char *>(mmap(nullptr, STACK, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
        if (f->stack == MAP_FAILED) {
            say("out of memory for fiber stacks");
            abort();
        }
        mprotect(f->stack, 4096, PROT_NONE); /* guard page */
        pool.push_back(f);
    }
    return pool[(*cursor)++];
}

void enter(fiber *f)
{
    if (f->fresh) {
        make_context(&f->ctx, f->stack, STACK, fiber_main);
        f->fresh = false;
    }
    cur = f;
    switch_to(&sched_ctx, &f->ctx);
    cur = nullptr;
}

/* Runs every thread of the current block. Returns false when the block's
 * threads disagree on a barrier. */
bool run_block()
{
    const int nt = (int)(blk.dim.x * blk.dim.y * blk.dim.z);
    blk.order.resize((size_t)nt);
    for (int t = 0; t < nt; t++)
        blk.order[(size_t)t] = t;
    shuffle(blk.order);
    blk.next = 0;
    blk.done = 0;
    std::vector<fiber *> parked;
    size_t cursor = 0;
    while (blk.next < blk.order.size()) {
        fiber *f = idle_fiber(&cursor);
        enter(f);
        if (f->waiting)
            parked.push_back(f);
    }
    while (!parked.empty()) {
        if (blk.done > 0) {
            say("block (%u,%u,%u): %d of %d threads returned while %zu wait at __syncthreads",
                blockIdx.x, blockIdx.y, blockIdx.z, blk.done, nt, parked.size());
            for (fiber *f : pool) { /* abandon the waiting threads */
                f->thread = -1;
                f->waiting = false;
                f->fresh = true;
            }
            return false;
        }
        std::vector<fiber *> release;
        release.swap(parked);
        shuffle(release);
        for (fiber *f : release) {
            f->waiting = false;
            set_thread(f->thread);
            enter(f);
            if (f->waiting)
                parked.push_back(f);
        }
    }
    return true;
}

/* --------------------------------------------------------------- cuBLAS -- */

struct blas_handle {
    cudaStream_t stream;
    cublasMath_t math;
};
std::vector<blas_handle *> handles;

/* --------------------------------------------------------------- exit -- */

/* At exit: what the program made and never released (device memory,
 * streams, events, cuBLAS handles) is reported on stderr; with
 * POL_EMU_LEAKS=fail the process then ends with status 86 instead, as under
 * compute-sanitizer --leak-check full --error-exitcode 86. With
 * POL_EMU_REFUSED=FILE, the number of cudaMalloc calls refused for want of
 * device memory is written to FILE. Defined after the lists it reads, so
 * destroyed before them. */
struct exit_check {
    ~exit_check()
    {
        const char *rf = getenv("POL_EMU_REFUSED");
        if (rf && *rf) {
            FILE *f = fopen(rf, "w");
            if (!f || fprintf(f, "%zu\n", refused_allocs) < 0 || fclose(f))
                say("POL_EMU_REFUSED: cannot write %s", rf);
        }
        if (allocs.empty() && streams.live.empty() && events.empty() && handles.empty())
            return;
        size_t bytes = 0;
        for (const allocation &a : allocs)
            bytes += a.size;
        say("at exit, never released: %zu device allocations (%zu bytes), %zu streams, "
            "%zu events, %zu cuBLAS handles", allocs.size(), bytes, streams.live.size(),
            events.size(), handles.size());
        const char *f = getenv("POL_EMU_LEAKS");
        if (f && !strcmp(f, "fail")) {
            fflush(NULL);
            _exit(86);
        }
    }
} exit_checker;

bool handle_ok(cublasHandle_t h)
{
    blas_handle *b = reinterpret_cast<blas_handle *>(h);
    return b && std::find(handles.begin(), handles.end(), b) != handles.end();
}

enum rounding { ROUND_NONE, ROUND_TF32, ROUND_BF16 };

/* x with its significand rounded to nearest even at `drop` dropped bits */
float round_sig(float x, int drop)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7F800000u) == 0x7F800000u)
        return x;
    const uint32_t half = 1u << (drop - 1), lsb = (u >> drop) & 1u;
    u += half - 1 + lsb;
    u &= ~((1u << drop) - 1);
    memcpy(&x, &u, 4);
    return x;
}

float in_round(float x, rounding r)
{
    return r == ROUND_TF32 ? round_sig(x, 13) : r == ROUND_BF16 ? round_sig(x, 16) : x;
}

/* extent in floats of a column-major rows x cols matrix with leading dimension ld */
size_t extent(int rows, int cols, int ld)
{
    return rows && cols ? (size_t)ld * (size_t)(cols - 1) + (size_t)rows : 0;
}

cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                    int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                    const float *beta, float *C, int ldc, rounding r, const char *name)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!handle_ok(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if ((ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) || (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T) ||
        m < 0 || n < 0 || k < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : k) ||
        ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m)) {
        say("%s: m=%d n=%d k=%d lda=%d ldb=%d ldc=%d break the argument rules", name, m, n, k,
            lda, ldb, ldc);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!alpha || !beta || overlaps(alpha, 4) || overlaps(beta, 4)) {
        say("%s: alpha and beta must be host pointers (host pointer mode)", name);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (m == 0 || n == 0)
        return CUBLAS_STATUS_SUCCESS;
    const int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
    const int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
    if (!pol_emu::in_device(A, extent(ar, ac, lda) * 4) ||
        !pol_emu::in_device(B, extent(br, bc, ldb) * 4) ||
        !pol_emu::in_device(C, extent(m, n, ldc) * 4) || (k && (!A || !B)) || !C) {
        say("%s: a matrix is not wholly in device memory", name);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!count_work(reinterpret_cast<blas_handle *>(h)->stream, name))
        return CUBLAS_STATUS_INVALID_VALUE;
    open_scope o;
    /* op(A) row by row (m x k) and op(B) column by column (n x k), rounded */
    std::vector<double> ra((size_t)m * (size_t)k), rb((size_t)n * (size_t)k);
    for (int i = 0; i < m; i++)
        for (int l = 0; l < k; l++)
            ra[(size_t)i * k + l] = in_round(
                ta == CUBLAS_OP_N ? A[i + (size_t)l * lda] : A[l + (size_t)i * lda], r);
    for (int j = 0; j < n; j++)
        for (int l = 0; l < k; l++)
            rb[(size_t)j * k + l] = in_round(
                tb == CUBLAS_OP_N ? B[l + (size_t)j * ldb] : B[j + (size_t)l * ldb], r);
    const double al = *alpha, be = *beta;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            const double *x = &ra[(size_t)i * k], *y = &rb[(size_t)j * k];
            double acc = 0;
            for (int l = 0; l < k; l++)
                acc += x[l] * y[l];
            float *c = &C[i + (size_t)j * ldc];
            *c = (float)(be == 0 ? al * acc : al * acc + be * (double)*c);
        }
    return CUBLAS_STATUS_SUCCESS;
}

} // namespace

/* ------------------------------------------------------ launch support -- */

namespace pol_emu {

bool in_device(const void *p, size_t bytes)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    return find_range(p, bytes) != nullptr;
}

void run(dim3 grid, dim3 block, cudaStream_t s, void (*body)(void *), void *ctx,
         const char *bad_arg)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!streams.ok(s)) {
        say("launch on a stream that does not exist");
        fail(cudaErrorInvalidResourceHandle);
        return;
    }
    const uint64_t nt = (uint64_t)block.x * block.y * block.z;
    if (!block.x || !block.y || !block.z || nt > 1024 || block.z > 64 || !grid.x || !grid.y ||
        !grid.z || grid.x > 0x7FFFFFFFu || grid.y > 65535 || grid.z > 65535) {
        say("launch configuration out of range: grid (%u,%u,%u), block (%u,%u,%u)", grid.x,
            grid.y, grid.z, block.x, block.y, block.z);
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    if (sticky) {
        fail(sticky);
        return;
    }
    if (bad_arg) {
        say("%s", bad_arg);
        sticky = fail(cudaErrorLaunchFailure);
        return;
    }
    if (!count_work(s, "a kernel launch")) {
        sticky = cudaErrorLaunchFailure;
        return;
    }
    std::vector<uint64_t> blocks((size_t)grid.x * grid.y * grid.z);
    for (size_t b = 0; b < blocks.size(); b++)
        blocks[b] = b;
    shuffle(blocks);
    open_scope o;
    gridDim = grid;
    blockDim = block;
    blk.dim = block;
    blk.body = body;
    blk.ctx = ctx;
    for (uint64_t b : blocks) {
        blockIdx = dim3((unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y),
                        (unsigned)(b / ((uint64_t)grid.x * grid.y)));
        if (!run_block()) {
            sticky = fail(cudaErrorLaunchFailure);
            return;
        }
    }
}

} // namespace pol_emu

void __syncthreads(void)
{
    if (!cur || cur->thread < 0) {
        say("__syncthreads outside a kernel");
        abort();
    }
    fiber *f = cur;
    f->waiting = true;
    switch_to(&f->ctx, &sched_ctx);
}

/* ---------------------------------------------------------- runtime API -- */

/* A status code's name and text, for the runtime's errors and cuBLAS's
 * statuses. */
template <typename Code> struct code_words {
    Code code;
    const char *name, *text;
};

/* The name (or text, with `text`) of `code` in `table`; `none` when absent. */
template <typename Code, size_t N>
const char *words_of(const code_words<Code> (&table)[N], Code code, bool text, const char *none)
{
    for (const auto &x : table)
        if (x.code == code)
            return text ? x.text : x.name;
    return none;
}

/* The errors this runtime returns: code, name, text (the CUDA runtime's). */
static const code_words<cudaError_t> ERRORS[] = {
    { cudaSuccess, "cudaSuccess", "no error" },
    { cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument" },
    { cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory" },
    { cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
      "invalid configuration argument" },
    { cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer", "invalid device pointer" },
    { cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected" },
    { cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle",
      "invalid resource handle" },
    { cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure" },
};

const char *cudaGetErrorString(cudaError_t e) { return words_of(ERRORS, e, true, "unknown error"); }

const char *cudaGetErrorName(cudaError_t e)
{
    return words_of(ERRORS, e, false, "cudaErrorUnknown");
}

cudaError_t cudaGetLastError(void)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaGetDeviceCount(int *n)
{
    if (!n)
        return fail(cudaErrorInvalidValue);
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *dev)
{
    if (!dev)
        return fail(cudaErrorInvalidValue);
    *dev = 0;
    return cudaSuccess;
}

/* 132 by default, an H100 SXM's count: the automatic GEMM tile and split
 * choices (kernels/gemm.cu) are then those of the GPU the backend targets */
static int emulated_sms()
{
    const char *s = getenv("POL_EMU_SMS");
    int n = s && *s ? atoi(s) : 132;
    return n >= 1 && n <= 1024 ? n : 132;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev)
{
    if (!p || dev != 0)
        return fail(cudaErrorInvalidValue);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "libpol CUDA emulator (host, %d SMs)", emulated_sms());
    p->major = 0;
    p->minor = 0;
    p->multiProcessorCount = emulated_sms();
    p->totalGlobalMem = device_bytes();
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int dev)
{
    if (!v || dev != 0 || a != cudaDevAttrMultiProcessorCount)
        return fail(cudaErrorInvalidValue);
    *v = emulated_sms();
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!s)
        return fail(cudaErrorInvalidValue);
    *s = reinterpret_cast<cudaStream_t>(new char[1]);
    streams.live.push_back(*s);
    if (!(flags & cudaStreamNonBlocking))
        streams.blocking.push_back(*s);
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    auto it = std::find(streams.live.begin(), streams.live.end(), s);
    if (!s || it == streams.live.end())
        return fail(cudaErrorInvalidResourceHandle);
    streams.live.erase(it);
    streams.blocking.erase(std::remove(streams.blocking.begin(), streams.blocking.end(), s),
                           streams.blocking.end());
    work.erase(std::remove_if(work.begin(), work.end(),
                              [s](const stream_work &w) { return w.s == s; }),
               work.end());
    delete[] reinterpret_cast<char *>(s);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!streams.ok(s))
        return fail(cudaErrorInvalidResourceHandle);
    settle(s);
    return sticky ? fail(sticky) : cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!p)
        return fail(cudaErrorInvalidValue);
    *p = nullptr;
    if (!bytes)
        return cudaSuccess;
    install_segv_handler();
    const size_t page = 4096, mapped = (bytes + page - 1) / page * page;
    if (mapped < bytes || bytes > device_bytes() - std::min(device_bytes(), allocated_bytes())) {
        refused_allocs++;
        return fail(cudaErrorMemoryAllocation);
    }
    void *m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return fail(cudaErrorMemoryAllocation);
    /* huge pages where the kernel grants them: mprotect (every launch)
     * then has 512 times fewer entries to change */
    if (mapped >= ((size_t)2 << 20))
        madvise(m, mapped, MADV_HUGEPAGE);
    memset(m, 0xFF, bytes); /* not zeros: device memory starts undefined (here a NaN) */
    allocation a = { static_cast<char *>(m), bytes, mapped };
    if (open_depth == 0)
        protect(a, false);
    allocs.push_back(a);
    *p = m;
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!free_bytes || !total_bytes)
        return fail(cudaErrorInvalidValue);
    *total_bytes = device_bytes();
    *free_bytes = *total_bytes - std::min(*total_bytes, allocated_bytes());
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!p)
        return cudaSuccess;
    settle_all(); /* cudaFree waits for the device */
    for (size_t i = 0; i < allocs.size(); i++)
        if (allocs[i].base == p) {
            munmap(allocs[i].base, allocs[i].mapped);
            allocs.erase(allocs.begin() + (long)i);
            return cudaSuccess;
        }
    say("cudaFree of a pointer cudaMalloc did not return");
    return fail(cudaErrorInvalidDevicePointer);
}

cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!streams.ok(s))
        return fail(cudaErrorInvalidResourceHandle);
    if (!n)
        return cudaSuccess;
    if (!pol_emu::in_device(p, n)) {
        say("cudaMemset of %zu bytes outside device memory", n);
        return fail(cudaErrorInvalidValue);
    }
    if (!count_work(s, "cudaMemset"))
        return cudaErrorInvalidValue;
    open_scope o;
    memset(p, v, n);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *p, int v, size_t n) { return cudaMemsetAsync(p, v, n, nullptr); }

static cudaError_t memcpy_on(void *dst, const void *src, size_t n, cudaMemcpyKind k,
                             cudaStream_t s, bool async)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!streams.ok(s))
        return fail(cudaErrorInvalidResourceHandle);
    if (!n)
        return cudaSuccess;
    const bool dd = pol_emu::in_device(dst, n), sd = pol_emu::in_device(src, n);
    const bool dh = !overlaps(dst, n), sh = !overlaps(src, n);
    bool ok = false;
    switch (k) {
    case cudaMemcpyHostToDevice: ok = dd && sh; break;
    case cudaMemcpyDeviceToHost: ok = dh && sd; break;
    case cudaMemcpyDeviceToDevice: ok = dd && sd; break;
    case cudaMemcpyHostToHost: ok = dh && sh; break;
    case cudaMemcpyDefault: ok = (dd || dh) && (sd || sh); break;
    }
    if (!ok || !dst || !src) {
        say("cudaMemcpy of %zu bytes, kind %d: a side is not the memory the kind names", n,
            (int)k);
        return fail(cudaErrorInvalidValue);
    }
    if (!count_work(s, "cudaMemcpy"))
        return cudaErrorInvalidValue;
    open_scope o;
    if (async && k == cudaMemcpyDeviceToHost) { /* delivered when s is synchronized */
        const char *from = static_cast<const char *>(src);
        late.push_back(late_copy{ s, dst, nullptr, n, std::vector<char>(from, from + n) });
        memset(dst, 0xFF, n);
        return cudaSuccess;
    }
    if (async && k == cudaMemcpyHostToDevice) { /* read when s next works, or is synchronized */
        late.push_back(late_copy{ s, dst, src, n, {} });
        return cudaSuccess;
    }
    memmove(dst, src, n);
    if (!async && k == cudaMemcpyDeviceToHost) /* returns once the copy, and the work before it, is done */
        settle(s);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind k,
                            cudaStream_t s)
{
    return memcpy_on(dst, src, n, k, s, true);
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind k)
{
    return memcpy_on(dst, src, n, k, nullptr, false);
}

static double now_s()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!e)
        return fail(cudaErrorInvalidValue);
    event *v = new event{ nullptr, 0, 0, 0.0, false };
    events.push_back(v);
    *e = reinterpret_cast<cudaEvent_t>(v);
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!event_ok(e))
        return fail(cudaErrorInvalidResourceHandle);
    event *v = reinterpret_cast<event *>(e);
    events.erase(std::find(events.begin(), events.end(), v));
    delete v;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!event_ok(e) || !streams.ok(s))
        return fail(cudaErrorInvalidResourceHandle);
    event *v = reinterpret_cast<event *>(e);
    *v = event{ s, work_of(s), total_work, now_s(), true };
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!event_ok(e))
        return fail(cudaErrorInvalidResourceHandle);
    const event *v = reinterpret_cast<event *>(e);
    if (v->recorded && work_of(v->stream) == v->own)
        settle(v->stream);
    return sticky ? fail(sticky) : cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!ms || !event_ok(start) || !event_ok(end))
        return fail(cudaErrorInvalidResourceHandle);
    const event *a = reinterpret_cast<event *>(start), *b = reinterpret_cast<event *>(end);
    if (!a->recorded || !b->recorded)
        return fail(cudaErrorInvalidResourceHandle);
    if (a->stream == b->stream && b->own == a->own && b->all > a->all) {
        say("cudaEventElapsedTime: no work on the events' stream between them, while another "
            "stream worked: these events would not have timed that work");
        return fail(cudaErrorInvalidValue);
    }
    *ms = (float)((b->t - a->t) * 1e3);
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    settle_all();
    return sticky ? fail(sticky) : cudaSuccess;
}

/* --------------------------------------------------------------- cuBLAS -- */

cublasStatus_t cublasCreate(cublasHandle_t *h)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!h)
        return CUBLAS_STATUS_INVALID_VALUE;
    blas_handle *b = new blas_handle{ nullptr, CUBLAS_DEFAULT_MATH };
    handles.push_back(b);
    *h = reinterpret_cast<cublasHandle_t>(b);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t h)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!handle_ok(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    blas_handle *b = reinterpret_cast<blas_handle *>(h);
    handles.erase(std::find(handles.begin(), handles.end(), b));
    delete b;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!handle_ok(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!streams.ok(s))
        return CUBLAS_STATUS_INVALID_VALUE;
    reinterpret_cast<blas_handle *>(h)->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m)
{
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!handle_ok(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m != CUBLAS_DEFAULT_MATH && m != CUBLAS_TF32_TENSOR_OP_MATH)
        return CUBLAS_STATUS_INVALID_VALUE;
    reinterpret_cast<blas_handle *>(h)->math = m;
    return CUBLAS_STATUS_SUCCESS;
}

static const code_words<cublasStatus_t> STATUSES[] = {
    { CUBLAS_STATUS_SUCCESS, "CUBLAS_STATUS_SUCCESS", "success" },
    { CUBLAS_STATUS_NOT_INITIALIZED, "CUBLAS_STATUS_NOT_INITIALIZED",
      "the library was not initialized" },
    { CUBLAS_STATUS_INVALID_VALUE, "CUBLAS_STATUS_INVALID_VALUE",
      "an invalid numeric value was used as an argument" },
    { CUBLAS_STATUS_NOT_SUPPORTED, "CUBLAS_STATUS_NOT_SUPPORTED",
      "the functionality requested is not supported" },
};

const char *cublasGetStatusString(cublasStatus_t s)
{
    return words_of(STATUSES, s, true, "unknown error");
}

const char *cublasGetStatusName(cublasStatus_t s)
{
    return words_of(STATUSES, s, false, "CUBLAS_STATUS_UNKNOWN");
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc)
{
    const bool tf32 = handle_ok(h) &&
                      reinterpret_cast<blas_handle *>(h)->math == CUBLAS_TF32_TENSOR_OP_MATH;
    return gemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc,
                tf32 ? ROUND_TF32 : ROUND_NONE, "cublasSgemm");
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType at,
                            int lda, const void *B, cudaDataType bt, int ldb, const void *beta,
                            void *C, cudaDataType ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo)
{
    if (at != CUDA_R_32F || bt != CUDA_R_32F || ct != CUDA_R_32F || algo != CUBLAS_GEMM_DEFAULT)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    rounding r;
    switch (compute) {
    case CUBLAS_COMPUTE_32F: r = ROUND_NONE; break;
    case CUBLAS_COMPUTE_32F_FAST_TF32: r = ROUND_TF32; break;
    case CUBLAS_COMPUTE_32F_FAST_16BF: r = ROUND_BF16; break;
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return gemm(h, ta, tb, m, n, k, static_cast<const float *>(alpha),
                static_cast<const float *>(A), lda, static_cast<const float *>(B), ldb,
                static_cast<const float *>(beta), static_cast<float *>(C), ldc, r,
                "cublasGemmEx");
}
