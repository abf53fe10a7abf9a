//===- Passes.td - densessm dialect passes -----------------*- tablegen -*-===//

#ifndef DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_TD
#define DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DenseSSMSelectSchedule
    : Pass<"densessm-select-schedule", "::mlir::ModuleOp"> {
  let summary = "Fix each function's schedule: parallel or recurrent";
  let description = [{
    Sets `densessm.schedule` on every function of the module that runs densessm ops over
    time (scans, retention, causal convolutions) and has no schedule yet.
    The lowerings read it to emit a chunked parallel scan (whole sequences)
    or a recurrent step (one token per sequence, state in and out).

    With `schedule=auto` (the default) a function whose time-axis operands
    all have a static length of 1 gets `recurrent`, any other `parallel`.
    `schedule=recurrent` or `schedule=parallel` forces the choice; forcing
    `recurrent` on a function that scans more than one token is an error.
    A schedule already present is kept (and verified by the dialect).

    ```mlir
    func.func @step(...) attributes {densessm.schedule = #densessm.schedule<recurrent>}
    ```
  }];
  let options = [
    Option<"schedule", "schedule", "::mlir::densessm::ScheduleChoice",
           /*default=*/"::mlir::densessm::ScheduleChoice::automatic",
           "which schedule to give each function", [{::llvm::cl::values(
             clEnumValN(::mlir::densessm::ScheduleChoice::automatic, "auto",
                        "recurrent when every scan runs over one token, else parallel"),
             clEnumValN(::mlir::densessm::ScheduleChoice::parallel, "parallel",
                        "whole sequences: chunked parallel scans"),
             clEnumValN(::mlir::densessm::ScheduleChoice::recurrent, "recurrent",
                        "one token per sequence: recurrent step kernels"))}]>
  ];
  let dependentDialects = ["::mlir::densessm::DenseSSMDialect"];
}

def DenseSSMLowerToScan : Pass<"densessm-lower-to-scan"> {
  let summary = "Lower selective_scan and retention to the kernel-level scan";
  let description = [{
    Rewrites each model-level scan as a `densessm.scan`:

    * `densessm.selective_scan`: `d_inner` heads of key size `N` and value
      size 1, `q = C`, `k = B`, `v = u`; Δ, its bias and softplus, the `D`
      skip and the `z` gate become the scan's fused operands
      (`dt_bias`, `dt_softplus`, `dt_scales_input`, `skip`, `gate`), so no
      prologue or epilogue tensor is materialised.
    * `densessm.retention`: an elementwise prologue computes, per (token,
      head) at absolute position `p = position + t`,
      `dt = log(γ·sqrt(c_{p-1}/c_p))` and `input_scale = 1/sqrt(c_p)` with
      `c_p = Σ_{i≤p} γ^i` (`normalization = authors`), or `dt = log γ`
      (`none`); `A = 1` per head.

    Both keep their initial and final state. Shapes may be dynamic.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def DenseSSMLowerScanToLoops : Pass<"densessm-lower-scan-to-loops"> {
  let options = [
    Option<"timeChunk", "time-chunk", "int64_t", /*default=*/"0",
           "chunk length of the time-chunked parallel scan (0: sequential time loop)">
  ];
  let summary = "Lower the kernel-level scan to loops on buffers";
  let description = [{
    Rewrites each `densessm.scan` as an `scf.parallel` over the independent
    (batch, head) pairs around a sequential `scf.for` over time, in one of
    three forms chosen by what the shapes allow:

    * Mamba-1's form (value size 1, a static key size K = N, one group of
      q and k): 16 channels advance together, each of the K state columns
      a `vector<16 x f32>` over channels carried in registers across time,
      so that decays, inputs and the readout are vertical vector operations
      on contiguous channel data; the channels that do not fill a block
      take the next form;
    * value size 1 and a static key size K: the state of a (batch, head)
      pair is one `vector<K x f32>` carried in registers across time;
    * a static value size V (retention: V = dv): the value axis is cut in
      16-wide chunks (or 8, 4, or V itself); per token and chunk, the key
      loop updates that chunk of every state row in place and accumulates
      `y_t`'s chunk in one vector register;
    * otherwise scalar loops over the key and value indices.

    With `time-chunk=T` (T > 0), a scan outside a recurrent function is
    instead chunked over time: chunks of T tokens are scanned in parallel
    from zero states, the carries between chunks are propagated
    (`carry_c = Π a ⊙ carry_{c-1} + local_c`), and each output is corrected
    by the carry entering its chunk — parallelism over time for when batch
    × heads is smaller than the machine (scalar loops; the default 0 keeps
    the sequential time loop).

    Accumulation and state are f32 (fused multiply-adds); `y` is rounded to
    the activation type on store.

    Operands are read through `bufferization.to_buffer` (read-only, fully
    dynamic layout) and the results are fresh buffers returned through
    `bufferization.to_tensor`, so one-shot bufferization of the rest of the
    function composes with it.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def DenseSSMLowerToLinalg : Pass<"densessm-lower-to-linalg"> {
  let summary = "Lower the non-scan model-level ops to linalg on tensors";
  let description = [{
    Rewrites `rms_norm`, `rotary`, `embedding`, `causal_conv1d` and
    `dense_connect` as linalg ops on tensors, computing in f32 and rounding
    to the activation type on the way out:

    * `rms_norm`: a sum-of-squares reduction over the last axis, then
      `x · rsqrt(mean + eps) · w`;
    * `rotary`: an elementwise generic that reads each channel's pair
      partner (`c xor 1`) and rotates by `p·θ_i`;
    * `embedding`: a gather (`tensor.extract` of the token's row);
    * `causal_conv1d`: the input padded in front with the carried window
      (or zeros), a reduction over the kernel taps, bias and activation; the
      final window is the padded input's last `K-1` steps. One token with a
      carried window (a decode step) is two generics that read the window
      and the weight where they are: the taps' sum, and the window shifted
      by one step with the token last;
    * `dense_connect`: the gate's two projections, the gated kept tensors,
      their sum (or the concatenation's linear layer), and the norm.

    The scans are left to `--densessm-lower-to-scan`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def DenseSSMStripAnnotations : Pass<"densessm-strip-annotations", "::mlir::ModuleOp"> {
  let summary = "Drop the densessm function, argument and result attributes";
  let description = [{
    Removes `densessm.schedule` from functions, `densessm.weight`,
    `densessm.input` and `densessm.state` from their arguments, and
    `densessm.output` and `densessm.state` from their results once code
    generation has used them, so that the lowered module holds no densessm
    attribute and tools without the dialect (mlir-translate, mlir-runner)
    read it.
  }];
}

def DenseSSMApproximateMath : Pass<"densessm-approximate-math"> {
  let summary = "Replace f32 exp, expm1, log, log1p with vectorisable polynomials";
  let description = [{
    Rewrites `math.exp`, `math.expm1`, `math.log` and `math.log1p` on f32
    scalars and vectors with MLIR's polynomial approximations (a few ulp),
    so that the scans' decays, softplus and SiLU are computed in vector
    registers rather than by one libm call per element.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def DenseSSMFuseDenseConnections : Pass<"densessm-fuse-dense-connections"> {
  let summary = "Fold dense hidden connections into the scans that read them";
  let description = [{
    Runs on kernel-level scans (after `--densessm-lower-to-scan`). A
    `densessm.dense_connect` in the released form (identity projections,
    addition, RMSNorm, a selection gate) whose result is used only as a
    scan's values, through the reshape that splits its channels into heads
    (DenseRetNet's `v`), becomes the scan's `dense(...)` operands: the scan
    recomputes each connected value where it reads it, so the connected
    tensor is never written to memory, and the RMSNorm across channels is
    a statistics pre-pass of one scalar per token. The gate's small hidden
    layer `SiLU(fc1 · x)` (H/32 values per token) is computed before.

    Left alone: a connection with another user (DenseMamba's `u` also
    feeds `x_proj`), one that reaches the scan through other ops
    (DenseRetNet's `k` passes through `rotary`), and the ablation forms
    (linear projections, concatenation, no norm).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def DenseSSMWriteResultsInPlace
    : Pass<"densessm-write-results-in-place", "::mlir::func::FuncOp"> {
  let summary = "Compute results in the argument buffers they are copied to";
  let description = [{
    Runs after bufferization, before buffer deallocation. A `memref.alloc`
    in a function's entry block whose last use is a `memref.copy` into an
    argument of the function that nothing else uses (an entry wrapper's
    result buffer, lib/Target/HostCode.cpp) is replaced by that argument
    (through a `memref.cast` where the static sizes differ), and the copy
    and any deallocation of the buffer are erased:

    ```mlir
    func.func @f(%x: memref<?xf32>, %out: memref<?xf32>) {
      %buf = memref.alloc(%n) : memref<?xf32>
      "compute"(%x, %buf) : (memref<?xf32>, memref<?xf32>) -> ()
      memref.copy %buf, %out : memref<?xf32> to memref<?xf32>
      return
    }
    ```
    becomes
    ```mlir
    func.func @f(%x: memref<?xf32>, %out: memref<?xf32>) {
      "compute"(%x, %out) : (memref<?xf32>, memref<?xf32>) -> ()
      return
    }
    ```

    Bufferization already writes results in place where the producing op
    takes a destination; this catches the buffers the scan lowering and
    the BLAS calls allocate themselves. The caller must pass result buffers
    that alias no other argument (the runtime does). Both buffers must have
    the identity layout.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def DenseSSMFreeBuffersAfterLastUse
    : Pass<"densessm-free-buffers-after-last-use", "::mlir::func::FuncOp"> {
  let summary = "Free each buffer right after its last use in its block";
  let description = [{
    Runs after buffer deallocation (`buildBufferDeallocationPipeline`),
    which frees a block's temporaries at the end of the block: each
    `memref.dealloc` moves up to just after the last operation of its block
    that uses the buffer or any view of it (found by
    `BufferViewFlowAnalysis`, uses in nested regions counted at their
    ancestor in the block). A buffer nothing uses is freed right after its
    allocation. A dealloc with a use outside its block stays where it is.

    A model's `@prefill` is one block over all layers: without this, every
    layer's activations live until the end, and peak memory grows with the
    layer count times the prompt length.

    ```mlir
    %a = memref.alloc() : memref<4xf32>
    %b = memref.alloc() : memref<4xf32>
    linalg.fill ins(%x : f32) outs(%a : memref<4xf32>)
    memref.copy %a, %b : memref<4xf32> to memref<4xf32>
    "use"(%b) : (memref<4xf32>) -> ()
    memref.dealloc %a : memref<4xf32>
    memref.dealloc %b : memref<4xf32>
    ```
    becomes
    ```mlir
    ...
    memref.copy %a, %b : memref<4xf32> to memref<4xf32>
    memref.dealloc %a : memref<4xf32>
    "use"(%b) : (memref<4xf32>) -> ()
    memref.dealloc %b : memref<4xf32>
    ```

    For CPU code only: it assumes an operation is done with a buffer when
    it returns, which asynchronous GPU launches are not.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def DenseSSMNarrowProjectionWeights
    : Pass<"densessm-narrow-projection-weights", "::mlir::ModuleOp"> {
  let summary = "Store the weights of the linear layers in bf16 or f16";
  let description = [{
    Runs on the imported model (tensors), before the pipelines. Every
    weight argument (`densessm.weight`) whose only uses are as the weight
    `w[o, i]` of projections `y[b, l, o] += Σ_i x[b, l, i] · w[o, i]` (the
    linear layers, weights in checkpoint layout) becomes a tensor of
    `element-type` (bf16 or f16); the contraction then widens each weight
    to f32 as it reads it, so the arithmetic stays f32. The module file
    stores those weights in that type (rounded to nearest even); the CPU
    code calls `densessm_cpu_linear_f32_bf16` or `_f16` for them, the CUDA
    code reads them in its GEMV kernel or widens them for cuBLAS. A weight
    used any other way (embedding table, norm scale, dense-connection gate,
    an lm_head tied to the embedding) stays f32; the decision is per weight
    name across all functions, so `@prefill` and `@step` agree.
    `densessm-compile --weight-type=bf16|f16` runs it.

    ```mlir
    // before
    func.func @step(..., %w: tensor<512x1024xf32> {densessm.weight = "q_proj.weight"})
    // after
    func.func @step(..., %w: tensor<512x1024xbf16> {densessm.weight = "q_proj.weight"})
    ```

    bf16 keeps f32's exponent range (any weight fits) with 8 significant
    bits; f16 has 11 bits but overflows above 65504 and loses precision
    below 6e-5.
  }];
  let options = [
    Option<"elementType", "element-type", "std::string", /*default=*/"\"bf16\"",
           "the weights' new element type: bf16 or f16">,
  ];
}

def DenseSSMLowerProjectionsToBLAS
    : Pass<"densessm-lower-projections-to-blas", "::mlir::ModuleOp"> {
  let summary = "Call the runtime's BLAS GEMM for every projection on buffers";
  let description = [{
    Runs after bufferization. A projection `y[b, l, o] += Σ_i x[b, l, i] ·
    w[o, i]` (a linalg contraction on f32 memrefs with exactly these
    indexing maps: the model builder's linear layers, weights in checkpoint
    layout) becomes a call of `densessm_<library>_linear_f32(y, x, w)` with
    fully dynamic strided memrefs, through its C interface; with bf16 or
    f16 weights (`--densessm-narrow-projection-weights`), of
    `densessm_cpu_linear_f32_bf16` or `densessm_cpu_linear_f32_f16`, which
    widen them as they read them.
    `library=cuda` has an f32 entry point only: a bf16 or f16 weight is
    first widened into a new f32 buffer by a `linalg.generic` (a kernel,
    once the CUDA pipeline maps linalg to the GPU; the pipeline's buffer
    deallocation, which runs after this pass, frees it). Few-row
    projections never get here in the CUDA pipeline
    (`--densessm-lower-projections-to-gpu-gemv` reads narrow weights
    directly). The runtime
    implements both libraries' functions with the same semantics:
    `library=cpu` (the CPU pipeline) calls OpenBLAS
    (`runtime/src/backends/cpu/Projection.cpp`: GEMV for one row, as in
    batch-1 decode, bound by weight bandwidth, GEMM otherwise);
    `library=cuda` (the CUDA pipeline, on GPU buffers) calls cuBLAS,
    which the runtime loads with dlopen
    (`runtime/src/backends/cuda/CUDAProjection.cpp`). Other contractions
    are left alone.

    ```mlir
    call @densessm_cpu_linear_f32(%y, %x, %w)
      : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>,
         memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>,
         memref<?x?xf32, strided<[?, ?], offset: ?>>) -> ()
    ```
  }];
  let options = [
    Option<"library", "library", "std::string", /*default=*/"\"cpu\"",
           "Whose GEMM to call: cpu (OpenBLAS, densessm_cpu_linear_f32) "
           "or cuda (cuBLAS, densessm_cuda_linear_f32)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def DenseSSMLowerProjectionsToGPUGEMV
    : Pass<"densessm-lower-projections-to-gpu-gemv"> {
  let summary = "Run few-row projections on buffers as a warp-per-output "
                "GEMV kernel";
  let description = [{
    Runs after bufferization, before `--densessm-lower-projections-to-blas`
    (CUDA pipeline). A projection `y[b, l, o] += Σ_i x[b, l, i] · w[o, i]`
    (x, y f32; w f32, bf16 or f16) with at most `max-rows` rows
    (`rows = B·L`: decoding) becomes one `gpu.launch`: one warp per (output
    `o`, row), `block-size / 32` outputs per block. The warp's lanes stride
    over the input index, lane `l` reading `w[o, l]`, `w[o, l + 32]`, …
    (consecutive lanes, consecutive addresses: each load instruction of the
    warp reads one contiguous run of the row), widening narrow weights to
    f32 as they are read; the loop is unrolled `unroll` times, so that as
    many loads per lane are in flight, which is what a read-bandwidth-bound
    kernel needs (so are the loops that stage or compute the block's row
    of `x` and sum a prologue's statistic, below: each block runs them
    before its first weight load). With `wide-loads` (the default), when
    each row of `w` starts 16-byte aligned wherever `w` does (identity
    layout, a static row of a multiple of 16 bytes, at most 8192 inputs),
    each lane loads 16 bytes of the row at once instead (`vector.load`:
    4 f32 or 8 bf16/f16 weights, one 128-bit load), lane `l` the run at
    `l·width` of every tile of `32·width` inputs; the block first stages
    its row of `x` in shared memory, laid out so that the 32 lanes reading
    their `e`-th input of a run read 32 consecutive words (no bank
    conflict). The kernel checks `w`'s address and takes the one-weight
    loop when it is not 16-byte aligned (the runtime aligns every weight).
    Such a kernel first asks L2 for its block's weight rows
    (PTX `prefetch.L2` as `llvm.inline_asm`, one 128-byte line per thread
    and step, at most 8 steps, straight-line code): with programmatic
    dependent launch
    (`--densessm-wait-for-preceding-kernels`) that happens before the
    kernel waits for the one before it, overlapping that kernel's end.
    Five `gpu.shuffle xor` steps sum the lanes' partial products; lane 0 adds
    the sum to `y[b, l, o]` — or writes it, when a zero `linalg.fill` of
    `y` comes right before the projection (the model
    builder's `y = 0; y += x wᵀ`), whose kernel then goes away. Each row
    re-reads the weights (from L2 after the first), hence the `max-rows`
    bound.

    Why not cuBLAS for these: it has no GEMV with bf16 weights and f32
    activations, and a library call is a host-side step between kernels (the
    host code waits for the kernels before it and for the call), where this
    kernel is one more launch in the stream.

    An elementwise `linalg.generic` on `y` right after the projection (only
    allocations, index arithmetic, views and fills of other buffers
    between) is folded in with `fuse-epilogues` (the default): lane 0
    applies its body at the point it computed, and its kernel goes away.
    It qualifies when all its loops are parallel; it reads `y` (or `y`
    with its output axis split by a `memref.expand_shape`, as into heads)
    at the point, through one view or several; its other inputs are read
    at dimensions or constants of the point and are not a buffer the
    kernel writes (`y`, an earlier op's output); it writes one freshly
    allocated buffer (none of the others is a view of it) at the point;
    and its body has no memory effects. An op after it that reads its
    output the same way (at the point) joins, and so on: a chain of such
    ops, each output stored at the point. The kernel then goes where the
    last op was.

    With `fuse-prologues` (the default) the elementwise `linalg.generic`
    that writes `x` is folded in too, when `x` is a fresh allocation of
    static input size (at most 8192), or a `memref.collapse_shape` of one
    flattening its trailing axes `[b, l, g..., d]` into the input axis (a
    group norm's heads), that only the op writes and only projections
    lowered here read: each block computes its row `x[b, l, :]` into
    shared memory, then its warps read `x` from there. The op must have
    only parallel loops over those axes, write at the point without
    reading it, read its other inputs at the point or broadcast, have a
    body without memory effects, and nothing up to the last of the
    projections' kernels may write what it reads. One of its inputs may be
    a statistic `s[b, l, g...]` per row and group that only a
    `linalg.fill` and one reduction over `d` write, adding to `s` a value
    computed at the point (a norm's sum of squares): the block then sums
    that value over each group itself, in segments of a group, one per
    warp (as many per group as keep the warps busy: 8 for an RMSNorm's
    one group), then each input adds its group's parts. The norm's
    kernels go away; with a dynamic row count they run only on the `else`
    side of the same choice, where the projections read `x`.

    With `fuse-siblings` (the default) projections of the same `x` (a
    layer's q, k and v, and a dense layer's gates) are one kernel, when
    they lower the same way (the same choice and load width, static output
    counts, the same inputs) and none reads what another writes:
    projection `p` takes blocks `Σ_{q<p} ceil(O_q / warps)` on, and each
    block stages or computes its row of `x` once for them. The kernel goes
    where the last of them was when nothing between them touches their
    buffers (allocations, views, index arithmetic and other buffers' fills
    may); else a later projection moves up into the earlier ones' kernel
    when nothing between writes what it reads or reads what it writes, and
    what it uses is defined before the kernel or can move there (its
    output's allocation, sizes, views): a dense layer's second gate, after
    the first gate's fusion.

    A narrow projection is few blocks: Mamba-130M's `x_proj` (80 outputs)
    would be 10 of an H200's 132 SMs. When a kernel's blocks per row
    (`Σ_p ceil(O_p / warps)`, times the rows where their count is static)
    are fewer than `target-blocks`, each output's inputs are split over
    `s` consecutive warps of a block (`s` doubles as long as the blocks
    are fewer than the target, the last doubling may pass it, `2s` divides
    the warps and, where the input count is static, leaves each warp at
    least one tile of `32·width` inputs): warp `w` computes part `w mod s` of
    output `block·warps/s + w / s`, taking every `s`-th tile, its lane 0
    publishes the part to shared memory, and after a barrier the first
    warp's lane 0 adds the parts in order (the same result run after run)
    and writes `y`, then the epilogue. So the grid has `s` times the
    blocks, each reading a part of as many rows, and no atomics.

    With static sizes the choice is made at compile time (more rows: the
    op is left to the BLAS lowering); with a dynamic row count an `scf.if`
    runs the kernel or, for more rows, the original ops. Options out of range
    (a block size that is not a multiple of 32 in [32, 1024], `max-rows`
    below 1 or above 65535, `unroll` outside [1, 16], `target-blocks`
    outside [1, 65535]) fail the pass.
  }];
  let options = [
    Option<"maxRows", "max-rows", "int64_t", /*default=*/"8",
           "the most rows (B x L) a projection may have to run as the GEMV "
           "kernel">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "threads per block (block-size / 32 outputs per block): a "
           "multiple of 32 in [32, 1024]">,
    Option<"targetBlocks", "target-blocks", "int64_t", /*default=*/"128",
           "blocks per row the kernel aims for (about an H100's or H200's "
           "SMs): with fewer, each output's inputs are split over 2, 4, ... "
           "of a block's warps; 1: never split, in [1, 65535]">,
    Option<"unroll", "unroll", "int64_t", /*default=*/"4",
           "loads per lane in flight (the unroll factor of the loops over "
           "the inputs), in [1, 16]">,
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"true",
           "fold an elementwise op on the projection's output that follows "
           "it into the kernel">,
    Option<"fusePrologues", "fuse-prologues", "bool", /*default=*/"true",
           "compute the projections' input in the kernel when an "
           "elementwise op (a norm's scaling, with the norm's sum) writes it "
           "for them only">,
    Option<"wideLoads", "wide-loads", "bool", /*default=*/"true",
           "load 16 bytes of weights per lane at once, from x staged in "
           "shared memory">,
    Option<"fuseSiblings", "fuse-siblings", "bool", /*default=*/"true",
           "run projections of the same input (q, k, v, a dense layer's "
           "gates) as one kernel, each on its own blocks">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def DenseSSMLowerScanToGPU : Pass<"densessm-lower-scan-to-gpu"> {
  let summary = "Lower the kernel-level scan to GPU kernels (gpu.launch)";
  let description = [{
    Rewrites each `densessm.scan` as `gpu.launch` kernels on buffers, the
    GPU counterpart of `--densessm-lower-scan-to-loops` (it runs at the same
    point of a pipeline: operands are read through `bufferization.to_buffer`
    and the results are new buffers returned through
    `bufferization.to_tensor`). Every operand variant of the op is handled:
    per-element (Mamba) or per-head (retention) decay, `dt_bias`,
    `dt_softplus`, `dt_scales_input`, `input_scale`, `skip`, `gate`, grouped
    q/k, `initial_state`, a fused dense connection, f32/f16/bf16
    activations, static or dynamic sizes (any key size K and value size V).
    State and accumulation are f32.

    * **Recurrent schedule** (a function with
      `densessm.schedule = #densessm.schedule<recurrent>`, or a scan whose
      length is statically 1): one kernel, a lane per state column (batch,
      head, value index) — per (batch, channel) for Mamba — and a block's
      `recurrent-block-size / 32` warps splitting the key index: each
      thread applies the step (softplus'd Δ with its bias, the decay, the
      input, the dense input) to its keys of `S[b, h, :, j]` and writes them
      back; the warps' parts of the readout meet in shared memory, where
      warp 0 adds them and applies the skip and the SiLU gate. Retention's
      blocks (32 value indices of one batch and head) first stage q and k
      in shared memory.
    * **Parallel schedule** (the other scans, unless they take one of the
      two kernels below): a chunked parallel scan over time. One block per (batch, head, value index) — "channel" for Mamba
      — of `block-size` threads; tokens are cut into chunks of
      `block-size × tokens-per-thread`, each thread holding
      `tokens-per-thread` consecutive tokens. For each chunk and each key
      index `i` (so any state size), the `(a, b)` pairs of
      `s_t = a_t·s_{t-1} + b_t` are scanned with
      `(a1,b1)∘(a2,b2) = (a1·a2, a2·b1 + b2)`: serially over each thread's
      tokens, then across each warp with five `gpu.shuffle up` steps
      (offsets 1, 2, 4, 8, 16), then across warps through two workgroup
      (shared memory) arrays of per-warp aggregates. The carry entering the
      chunk is read from the final-state buffer, which holds the running
      state column; the block's last thread writes the chunk's outgoing
      carry back. One barrier per chunk and key: the aggregate arrays
      alternate halves from key to key and each key's carry is written
      after the next key's barrier. Readouts accumulate per token over `i` in registers;
      the skip and gate epilogue follows.
    * **Column scan** (the parallel schedule of at least
      `column-scan-min-columns` state columns `(b, h, j)` over the batch,
      unless it is chunkwise retention): the lanes of a warp are 32
      consecutive columns `h·V + j` and the block's `block-size / 32` warps
      split time. Per chunk of `block-size / 32 × column-tokens-per-thread`
      tokens and key index, each thread composes its tokens' pairs
      serially and publishes the aggregate to shared memory; after one
      barrier it applies the carry (in shared memory for a static key size
      up to 128, else in the final-state buffer) and the aggregates of the
      warps before its own. Per-token loads and the
      stores of `y` are contiguous across a warp, `q` and `k` one broadcast
      per warp. One barrier per chunk and key: the aggregate arrays
      alternate halves and the last warp writes each key's carry after
      the next barrier.
    * **Chunkwise retention** (the parallel schedule of a per-head decay,
      `A` of shape `[H]`, once the length reaches `chunkwise-min-length`):
      retention's chunkwise form. One block of `block-size` threads per
      (batch, head, 32 value columns); per chunk of `chunkwise-chunk-size`
      tokens, the scores `Q Kᵀ` and the inter-chunk readout `Q S` as
      shared-memory tiled products over key blocks of 16, the causal decay
      mask `exp(G_r - G_s)·β_s` (G the chunk's cumulative log decay), the
      readout `exp(G_r)·(Q S) + (P ⊙ D) V`, then the state update
      `exp(G_last)·S + Kᵀ (w ⊙ V)`, the state carried through the
      final-state buffer. With a dynamic length an `scf.if` picks this or
      the chunked scan at run time.
    * **A fused dense connection** adds a statistics kernel first: blocks
      per (batch, token) — one for a parallel scan, for a recurrent step as
      many as give each thread one value — reduce their slices of the
      connected values' squares (warp `gpu.shuffle xor` butterflies, then
      shared memory) into one sum each, which the scan kernels add and
      turn into `1/rms` where they read a value.

    The kernels capture their buffers from the enclosing function;
    `--gpu-kernel-outlining` turns them into `gpu.func`s, and each launch
    completes before the host code goes on (no async tokens). The result buffers are plain `memref.alloc`s:
    `--densessm-place-buffers-on-gpu` moves every host buffer to GPU
    memory after bufferization. Invalid options (a block size that is not a
    multiple of 32 in [32, 1024], tokens per thread outside [1, 64], a
    chunk size outside [1, 64], a minimum column count below -1) fail the pass with an error naming the
    option.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "threads per block of the parallel (chunked) scan kernel: a "
           "multiple of 32 in [32, 1024]">,
    Option<"tokensPerThread", "tokens-per-thread", "int64_t", /*default=*/"4",
           "consecutive tokens each thread of the parallel scan scans "
           "serially (chunk length = block-size x tokens-per-thread)">,
    Option<"recurrentBlockSize", "recurrent-block-size", "int64_t",
           /*default=*/"256",
           "threads per block of the recurrent step kernel and the dense "
           "statistics kernel: a multiple of 32 in [32, 1024]">,
    Option<"chunkwiseMinLength", "chunkwise-min-length", "int64_t",
           /*default=*/"256",
           "sequence length from which a per-head-decay scan (retention) in "
           "the parallel schedule runs as the chunkwise kernel instead of the "
           "chunked scan (checked at run time when the length is dynamic); "
           "-1: never">,
    Option<"chunkwiseChunkSize", "chunkwise-chunk-size", "int64_t",
           /*default=*/"64",
           "tokens per chunk of the chunkwise kernel, in [1, 64] (its tiles "
           "live in static shared memory)">,
    Option<"columnScanMinColumns", "column-scan-min-columns", "int64_t",
           /*default=*/"4096",
           "state columns (batch x heads x value size) from which the "
           "parallel schedule runs the column scan (lanes along columns) "
           "instead of the chunked scan (threads along time); checked at run "
           "time when a size is dynamic; 0: always, -1: never">,
    Option<"columnTokensPerThread", "column-tokens-per-thread", "int64_t",
           /*default=*/"4",
           "consecutive tokens each thread of the column scan scans serially "
           "(chunk length = block-size / 32 x column-tokens-per-thread)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def DenseSSMFuseElementwise : Pass<"densessm-fuse-elementwise"> {
  let summary = "Fuse elementwise linalg ops on tensors, never into or "
                "across a projection";
  let description = [{
    Upstream's `--linalg-fuse-elementwise-ops` (producer-consumer chains of
    elementwise ops fused where the producer has one use; reshapes folded
    into the ops around them by expanding those ops), except that a
    projection (`y[b, l, o] += x[b, l, i] · w[o, i]`) is never a producer
    or consumer of a fusion. Upstream would, with static shapes, fold the
    split of `y` into heads into the projection and make it a
    5-dimensional `linalg.generic` the GEMV and cuBLAS lowerings no longer
    recognise. Folding a flattening (`tensor.collapse_shape`) into the op
    that reads it expands that op to the flattened axes and asks for the
    producer's sizes (`tensor.dim` of its result); those are resolved to
    the producer's operands, so that the producer, used once, then fuses:
    RetNet's group norm scaling and the gate after the heads' flattening
    become one op.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def DenseSSMFoldProducersIntoKernels
    : Pass<"densessm-fold-producers-into-kernels", "::mlir::func::FuncOp"> {
  let summary = "Evaluate an elementwise or gathering op, or a projection "
                "over few inputs, in the hand-built kernel that alone reads "
                "its output";
  let description = [{
    A hand-built kernel (a `gpu.launch` of `--densessm-lower-scan-to-gpu`)
    often reads small buffers an elementwise `linalg.generic` computed for
    it alone just before it: a retention step's per-head decay and its
    normaliser, from the positions and the decay rates. Each such op would
    be a kernel launch of its own. This pass replaces each load of the
    op's output in the kernel with the op's body at the load's indices,
    and erases the op. The op qualifies when it is on buffers with all
    loops parallel, writes a fresh allocation at the point without reading
    it, reads its inputs at the point or broadcast, has a body that only
    loads from other buffers (a gather: rotary loads the other element of
    each pair) or is free of memory effects, and nothing from it to the
    kernel (the kernel included) writes what it reads; its output's only
    other users are loads in one kernel, each reading another element in
    every iteration of the kernel's loops around it (each loop's
    induction variable is an index, or plus, minus or xor a constant), so
    each value is computed as often as the kernel read it (from the op's
    inputs instead of its output), not once per token: a Mamba step's
    `A = -exp(A_log)`, read in the loop over the state index, and a
    retention step's rotary of q and k, read in the loop over the key
    index, qualify. Ops are visited last first, so a chain of them folds
    into the kernel (the rotary's loads at `i` and `i ^ 1` of a
    normalised k, then the normalisation).

    A projection (`y[b, l, o] += Σ_i x[b, l, i] · w[o, i]`) over at most 256
    inputs, static, whose output is a fresh allocation filled right before
    it and read only by such loads, folds too: each load becomes a loop
    over the inputs from the fill's value, adding the projection's body for
    each (a Mamba step's `dt_proj`, over `dt_rank` inputs, computed where
    the step reads Δ); the fill and the projection go away. In the CUDA
    pipeline the pass runs before the projections are lowered, so that
    such a projection never becomes a GEMV kernel or a cuBLAS call.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def DenseSSMGatherParallelLoops
    : Pass<"densessm-gather-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Move the allocations, views and index arithmetic between "
                "scf.parallel loops up before the loops' run";
  let description = [{
    Upstream's `--scf-parallel-loop-fusion` fuses a run of `scf.parallel`
    loops only when nothing with a memory effect lies between them, and
    after bufferization each loop's output buffer is allocated right before
    it: two independent loops of the same bounds (rotary on q, then on k)
    are not adjacent. In every block, this pass moves each
    `memref.alloc` and each op free of memory effects (views, index
    arithmetic) that lies between the loops of a run up before the run's
    first loop, when its operands are defined before that loop. An op with
    another memory effect, or an allocation that cannot move, ends the run.
    The CUDA pipeline runs it before the loop fusion of step 4a.
  }];
}

def DenseSSMCopiesToKernels
    : Pass<"densessm-copies-to-kernels", "::mlir::ModuleOp"> {
  let summary = "Turn the host code's buffer copies into linalg.copy, for "
                "GPU kernels";
  let description = [{
    Runs in the CUDA pipeline after bufferization, before the linalg ops
    become parallel loops and GPU kernels: every ranked `memref.copy` in
    host code (outside `gpu.launch` and `gpu.module`) becomes the same
    `linalg.copy`. So the copies bufferization writes (a slice inserted
    into a tensor, Mamba's convolution window, a state carried into a
    result) run on the GPU, next to the kernels that produce and read their
    buffers, instead of on the host through managed memory, and those
    buffers can be device memory (`--densessm-place-buffers-on-gpu`).
    Copies of unranked buffers are left alone.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
  ];
}

def DenseSSMQueueGPUWork : Pass<"densessm-queue-gpu-work", "::mlir::ModuleOp"> {
  let summary = "Queue a function's GPU work on one stream when its host "
                "code never touches a buffer";
  let description = [{
    Runs on the CUDA host code after `--densessm-place-buffers-on-gpu`. The
    host code waits for every kernel it launches; that wait only matters
    when the host code itself reads or writes a buffer afterwards. A
    function whose host code never does (outside kernels and the GPU
    dialect's operations, no operation with a read or write memory effect
    or with unknown effects — a load, store, copy, a host loop's body — and
    no call except the runtime's projections `densessm_cuda_linear_*`) gets a
    call of the runtime's `densessm_cuda_queue_begin(key)` at its entry and
    of `densessm_cuda_queue_end()` before each return: in between, the
    runtime's `mgpu*` functions and projections put all the work on one
    stream of the calling thread and skip the waits on it, and the end
    waits once. Other functions are left as they are.

    The `i64` key is a hash of the function's name (xxh3), the same in
    every compile: the runtime keeps one CUDA graph per key, captures the
    queued work from the function's second run on and replays it through
    that graph.

    Only for host code that the densessm runtime runs (`densessm-compile
    --target=cuda`): it provides the two functions, and the projections
    must share the stream.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

def DenseSSMPlaceBuffersOnGPU
    : Pass<"densessm-place-buffers-on-gpu", "::mlir::ModuleOp"> {
  let summary = "Allocate every host buffer in GPU-accessible memory";
  let description = [{
    Runs after bufferization, kernel outlining and buffer deallocation,
    in host code (outside `gpu.launch` and `gpu.module`):

    * `memref.alloc` becomes `gpu.alloc` and `memref.dealloc` becomes
      `gpu.dealloc`: in device memory when only kernels (`gpu.launch_func`),
      the runtime's GPU library calls (`densessm_cuda_*`) and its
      deallocation use the buffer, directly or through views; otherwise
      `host_shared` (CUDA managed memory, `cuMemAllocManaged`: readable by
      kernels and by the host code that is left, e.g. `memref.copy`, and
      returnable);
    * `memref.get_global` (bufferized constant tensors) becomes a
      `gpu.alloc host_shared` at the function's entry filled by a
      `gpu.memcpy` from the global, freed by `gpu.dealloc` before each
      return.

    So every buffer a kernel reads or writes is device-accessible; the
    function's arguments must be device-accessible too (device, managed or
    registered host memory), and buffers it returns are freed with
    `mgpuMemFree`. `memref.alloca` (stack) buffers are left alone: the
    pipelines do not create any in host code.
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def DenseSSMLowerReductionsToGPU
    : Pass<"densessm-lower-reductions-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Sum reductions of the host code as one GPU block per output";
  let description = [{
    The rest of the host code's linalg ops become parallel loops with one
    GPU thread per output element (`--densessm-map-parallel-loops-to-gpu`),
    and a reduction's loop then runs in that one thread: a norm's sum of
    squares over a row of 1024 values at decode time is one thread adding
    1024 values in turn, each through memory, while the rest of the GPU
    idles; a prefill's norms keep only a few blocks busy. This pass gives
    each output element of such a reduction a block instead.

    It takes a `linalg.generic` on buffers, outside kernels, that sums:
    one output `s`, f32, indexed by exactly its parallel loops (in any
    order); its body `s + f(inputs)` with `f` free of memory effects and
    of `s`, with no regions; every buffer input read at dimensions or
    constants of the point, and none that may be `s` (or a view of it:
    the loops would read the running sum); at least one reduction loop,
    all of static size, covering at least `min-size` points in all.
    (Mamba's convolution, four taps per output, stays a thread's loop.)

    One block per output element (the grid's x axis over the flattened
    parallel loops); its threads, as many as give each about four terms
    (a multiple of 32, at most `block-size`), stride over the flattened
    reduction loops, each summing its terms; then five `gpu.shuffle xor`
    steps per warp, with several warps their sums through shared memory
    (one barrier), and thread 0 adds the total to `s` — or to the value
    of the f32 `linalg.fill` of `s` right before the op, whose kernel then
    goes away. The sum's order differs from the loops' (f32 rounding).
    With dynamic parallel sizes, an `scf.if` skips the launch when there
    is nothing to reduce.

    Consecutive sums with only allocations, views, index arithmetic and
    their own fills between them, none of which writes what another reads
    or writes (a layer's norms of k and of v), share one kernel: its blocks
    cover the largest count of output elements, each sum running in the
    blocks up to its own count (a condition uniform over a block, so its
    barrier is too); its threads are sized for the longest sum; each sum
    has its own shared partials, so no barrier lies between them. A sum
    of fewer than `min-size` terms joins only when it sums over the same
    output elements as a longer one (over more, it would add blocks).

    ```mlir
    gpu.launch blocks(%p, ...) in (%gx = %rows, ...) threads(%t, ...) in (%bx = %c256, ...)
        workgroup(%partials : memref<8xf32, #gpu.address_space<workgroup>>) {
      %part = scf.for %r = %t to %c1024 step %c256 iter_args(%acc = %zero) -> (f32) { ... }
      ... gpu.shuffle xor ... memref.store ..., %partials[%warp] ... gpu.barrier ...
      scf.if %thread0 { memref.store %total, %s[...] }
    }
    ```

    An elementwise `linalg.generic` right after the kernel's sums (only
    allocations, views, index arithmetic and other such ops between) that
    reads a sum's output with the sum's output map, one of the sum's
    inputs with the sum's own map (a permutation of all the loops: the
    same domain, loop by loop), its other inputs at the point or broadcast,
    and writes a fresh allocation, is computed by that sum's blocks too —
    a norm's scaling `x · rsqrt(Σx²/n + ε) · g`, after its sum of squares:
    after the total (the fill's value plus the threads' sums, in every
    thread; the sum needs a fill), each thread evaluates the op at the
    row's elements it added. The kernel goes where the op was, and the op
    goes away: a norm is one kernel.

    A sum that only one later `gpu.launch` of its block reads — every read
    a `memref.load` at the same indices, each uniform over a block (block
    indices, constants, values from outside the kernel, and pure arithmetic
    of those at the body's top level) — whose inputs neither the ops
    between nor the kernel write, of at most 8192 terms, with a static
    block size of whole warps along x: a decode step's norm of k, which
    `--densessm-fold-producers-into-kernels` put into the scan step, read
    by the step's blocks of one batch entry and head. With
    `fold-into-kernels`, each block of that kernel computes the element it
    reads at the top of its body, after the ops its indices come from (its
    threads striding over the terms, the warps' sums through a new
    workgroup array: a barrier every thread reaches), and the total (plus
    the fill's value) replaces the loads; the op, its fill and its buffer
    go away, and with them a launch.

    Options out of range (a block size that is not a multiple of 32 in
    [32, 1024], `min-size` below 1) fail the pass.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "the most threads per block: a multiple of 32 in [32, 1024]">,
    Option<"minSize", "min-size", "int64_t", /*default=*/"32",
           "the fewest terms per output element (the product of the "
           "reduction loops' sizes) for which the reduction gets a block">,
    Option<"foldIntoKernels", "fold-into-kernels", "bool", /*default=*/"true",
           "compute a sum that only one kernel reads, at indices uniform "
           "over its blocks, in each of that kernel's blocks">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def DenseSSMFuseSiblingKernels
    : Pass<"densessm-fuse-sibling-kernels", "::mlir::ModuleOp"> {
  let summary = "Fuse consecutive independent gpu.launch kernels into one";
  let description = [{
    Each kernel of a decode step costs the GPU an idle gap before it, and a
    step that streams its weights in a fraction of a millisecond has few to
    spare. This pass runs two kernels that share no buffer one of them
    writes as one launch: the first kernel's blocks, then the second's,
    along the grid's x axis (each body under `blockIdx.x < first's grid`
    or its complement, a condition uniform over a block, so barriers stay
    legal; the second body sees its own block index and grid size).

    A `gpu.launch` fuses with the one before it when only ops that touch no
    memory lie between (allocations, views, index arithmetic), when the two
    do not conflict (one writing what the other reads or writes, as the
    GEMV fusions decide it), and when they can be one launch: synchronous,
    no dynamic shared memory, clusters or private buffers, one-block
    bodies, the same static block size, the same grid along y and z
    (the same value or constant), and at most 48 KiB of workgroup buffers
    together (which the fused kernel declares side by side).

    The kernel before may also end the `then` block of an `scf.if` with no
    results (a projection's run-time choice: the GEMV kernel for few rows,
    cuBLAS else) when nothing in either branch conflicts with the second
    kernel and what it uses can move above the `scf.if`: the second kernel
    then runs at the end of the `else` branch (made when there is none) as
    it was, and in the `then` branch fused with the GEMV. A DenseRetNet
    layer's dense statistics kernel follows the k gate's GEMV so.

    ```mlir
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %sum, %gy = %rows, ...) ... {
      %first = arith.cmpi ult, %bx, %gridA : index
      scf.if %first { ... A's body ... } else {
        %bxB = arith.subi %bx, %gridA : index
        ... B's body, with %bxB and B's grid ...
      }
      gpu.terminator
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def DenseSSMWaitForPrecedingKernels
    : Pass<"densessm-wait-for-preceding-kernels", "::mlir::ModuleOp"> {
  let summary = "Make sm_90 kernels launchable before the kernel before "
                "them ends (programmatic dependent launch)";
  let description = [{
    On sm_90 and newer, a kernel launched with programmatic stream
    serialization (the runtime's `cuLaunchKernelEx` attribute) may start
    before the kernel before it in the stream has finished: its blocks are
    scheduled as the other's retire, which hides the launch's latency, the
    idle gap that each of a decode step's many small kernels costs. In
    return the kernel must wait itself before it touches what the one
    before wrote: `griddepcontrol.wait` blocks until the preceding grids
    have completed and their memory is visible. `launch_dependents` lets
    the kernel after it be scheduled early in turn.

    Runs on the outlined kernels after the NVVM targets are attached
    (`--densessm-cuda-pipeline`, with `programmatic-launch`). Every kernel
    (`gpu.func` with `kernel`) of a `gpu.module` whose targets include
    NVVM chips of sm_90 or newer gets `nvvm.griddepcontrol wait` then
    `nvvm.griddepcontrol launch_dependents` in its entry block, before the
    first op that may touch memory, other than a cache prefetch
    (`nvvm.prefetch`, or PTX `prefetch` as `llvm.inline_asm`: a GEMV's
    weights into L2, which no kernel writes): what comes before (index
    arithmetic, those prefetches) overlaps the kernel before; everything
    else runs after it, as without the attribute; and only the kernel
    after it (not its successors) is scheduled early. The instructions do not exist before
    sm_90, so a module with older chips too is split: the older chips keep
    the module as it is, and a copy named `<module>__waits` takes the
    newer ones and the instructions, recorded with the original's name and
    chips in order in the top module's `densessm.split_kernel_modules`;
    `--densessm-merge-kernel-binaries` puts their objects back into one
    `gpu.binary` after serialisation.
    The newer targets get the flag `densessm.programmatic_launch`, which
    their objects carry, so that `densessm-compile` marks those kernel
    objects in the module file and the runtime launches their kernels with
    the attribute (without it the instructions do nothing).
  }];
  let dependentDialects = [
    "::mlir::NVVM::NVVMDialect"
  ];
}

def DenseSSMMergeKernelBinaries
    : Pass<"densessm-merge-kernel-binaries", "::mlir::ModuleOp"> {
  let summary = "Put the objects of a split kernel module back into one "
                "gpu.binary";
  let description = [{
    After `gpu-module-to-binary`, the objects of each copy that
    `--densessm-wait-for-preceding-kernels` made and recorded in
    `densessm.split_kernel_modules` (`gpu.binary @m__waits`, from
    `gpu.module @m`) join those of `gpu.binary @m`, which every
    `gpu.launch_func` names, and the copy goes away; a binary that merely
    has such a name is left alone. The objects keep the order of `@m`'s
    targets before the split (the `chips` option's): the first is the one
    the host code embeds (the default offloading handler), the others are
    the module file's per-chip alternatives. A recorded binary that is
    missing (the pass ran before serialisation) is an error.
  }];
}

def DenseSSMMapParallelLoopsToGPU
    : Pass<"densessm-map-parallel-loops-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Map the host code's parallel loops to GPU blocks and threads";
  let description = [{
    Prepares the outermost `scf.parallel` loops of the host code (what
    `--convert-linalg-to-parallel-loops` makes of the elementwise ops, norms,
    convolutions, embeddings and projections) for
    `--convert-parallel-loops-to-gpu`: each loop nest is flattened to one
    dimension and cut into blocks of `block-size` iterations — an outer
    `scf.parallel` over blocks mapped to the grid's x axis and an inner one
    over the block's threads mapped to the x thread index — with the
    original induction variables recovered from the linear index and the
    iterations past the end skipped by an `scf.if`. Parallel loops nested in
    the body are mapped `sequential` (each thread runs them). Loops with
    reductions are left alone (they run on the host). Upstream
    `--gpu-map-parallel-loops` would map each dimension of a one-level loop
    nest to a grid axis, with one thread per block.

    With `fuse-siblings` (the default), consecutive loops of one block with
    only allocations, views and index arithmetic between them, none of
    which writes a buffer another reads or writes (aliasing as the GEMV
    fusions decide it: distinct allocations that are never selected,
    stored or passed on are distinct; function arguments may be anything),
    are mapped together: one grid over the largest of their flattened
    iteration spaces, each thread running each loop's body under its own
    bound, where the last loop was. `--scf-parallel-loop-fusion` merges
    loops of equal bounds only; these are the rest, such as a Mamba decode
    step's convolution output (B·C points) and its window update (B·C·3):
    one launch instead of two. A loop with an access on memory it cannot
    name stays alone.

    ```mlir
    scf.parallel (%b) = (%c0) to (%blocks) step (%c1) {
      scf.parallel (%t) = (%c0) to (%c256) step (%c1) {
        %i = ... %b * 256 + %t
        scf.if %i < %total { ... }
      } {mapping = [#gpu.loop_dim_map<processor = thread_x, ...>]}
    } {mapping = [#gpu.loop_dim_map<processor = block_x, ...>]}
    ```
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "threads per block: a multiple of 32 in [32, 1024]">,
    Option<"fuseSiblings", "fuse-siblings", "bool", /*default=*/"true",
           "map consecutive independent loops of different bounds to one "
           "kernel">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect",
  ];
}

#endif // DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_TD
