// --densessm-cuda-pipeline: densessm on tensors to GPU kernels (PTX for
// sm_80 and sm_90 in gpu.binary ops) and host code in the LLVM dialect
// calling the mgpu* runtime functions.
// RUN: densessm-opt %s "--densessm-cuda-pipeline=stop-at-gpu=true" | FileCheck %s --check-prefix=GPU
// RUN: densessm-opt %s --densessm-cuda-pipeline | FileCheck %s
// RUN: densessm-opt %s --densessm-cuda-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM
// RUN: densessm-opt %s "--densessm-cuda-pipeline=chips=sm_90 linalg-to-gpu=false" | FileCheck %s --check-prefix=OPTS
// RUN: densessm-opt %s "--densessm-cuda-pipeline=stop-at-gpu=true cublas=false" | FileCheck %s --check-prefix=KERNELS
// RUN: densessm-opt %s "--densessm-cuda-pipeline=programmatic-launch=false" | FileCheck %s --check-prefix=NOPDL

// Stopped at the GPU dialect: the kernels are outlined, one gpu.module
// each; the host code allocates its temporaries in device memory and the
// buffers it returns in managed memory, launches the kernels, and frees the
// temporaries.
// The projections' runtime function (@project, at the end), declared first:
// GPU: func.func private @densessm_cuda_linear_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {densessm.written_arguments = array<i64: 0>, llvm.emit_c_interface}
// GPU-LABEL: func.func @prefill
// The RMSNorm's sum of squares became a kernel of one 32-thread block per
// row (its 32 terms; --densessm-lower-reductions-to-gpu, which absorbs the
// sum's zero fill), its scaling folded into the scan (step 3a); then the
// selective scan's chunked-scan
// kernel over a 32-channel x 2-batch grid of 128-thread blocks (it computes
// A = -exp(A_log) where it reads A, in its loop over the state index: step
// 3a, so that op has no kernel of its own):
// GPU: %[[W:.*]] = gpu.wait async
// GPU: %[[TMP:.*]], %[[A:.*]] = gpu.alloc async [%[[W]]] () : memref<2x64xf32>
// GPU: gpu.wait [%[[A]]]
// GPU: gpu.launch_func  @prefill_kernel::@prefill_kernel blocks in (%c128, %c1, %c1) threads in (%c32, %c1, %c1) args(%{{.*}} : memref<2x64x32xf32>, %[[TMP]] : memref<2x64xf32>)
// GPU: %[[Y:.*]] = gpu.alloc  host_shared () : memref<2x64x32x1xf32>
// GPU: %[[S:.*]] = gpu.alloc  host_shared () : memref<2x32x16x1xf32>
// GPU: gpu.launch_func  @prefill_kernel_0::@prefill_kernel blocks in (%c32, %c2, %c1) threads in (%c128, %c1, %c1)
// GPU-SAME: args(%[[S]] : memref<2x32x16x1xf32>,
// GPU: %[[T:.*]] = gpu.wait async
// GPU: %[[F:.*]] = gpu.dealloc async [%[[T]]]
// GPU: gpu.wait [%[[F]]]
// GPU: return
// GPU-LABEL: gpu.module @prefill_kernel_0
// GPU: gpu.func @prefill_kernel({{.*}}) workgroup(%[[WA:.*]] : memref<8xf32, #gpu.address_space<workgroup>>, %[[WB:.*]] : memref<8xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 128, 1, 1>, known_grid_size = array<i32: 32, 2, 1>}
// GPU:   %[[BX:.*]] = gpu.block_id  x
// GPU:   %[[BY:.*]] = gpu.block_id  y
// GPU:   %[[TX:.*]] = gpu.thread_id  x
// GPU:   %[[WARP:.*]] = arith.divui %[[TX]], %c32
// GPU:   scf.for %{{.*}} = %[[TX]] to %c16 step %c128 {
// GPU:   gpu.barrier
// 64 tokens are one chunk of 512 (128 threads x 4 tokens), so the carry
// loop folds away; the key loop (N = 16) carries four readouts and the
// last thread's state of the previous key (its carry, written one key late):
// GPU:     scf.for %{{.*}} = %c0 to %c16 step %c1 iter_args({{.*}}) -> (f32, f32, f32, f32, f32)
// GPU:       gpu.shuffle  up %{{.*}}, %c1_i32, %c32_i32 : f32
// GPU:       gpu.shuffle  up %{{.*}}, %c2_i32, %c32_i32 : f32
// GPU:       gpu.shuffle  up %{{.*}}, %c4_i32, %c32_i32 : f32
// GPU:       gpu.shuffle  up %{{.*}}, %c8_i32, %c32_i32 : f32
// GPU:       gpu.shuffle  up %{{.*}}, %c16_i32, %c32_i32 : f32
// GPU:       gpu.shuffle  up %{{.*}}, %c1_i32, %c32_i32 : f32
// Lane 31 stores its warp's aggregate in this key's half (slot
// half·4 + warp); one barrier per key, then the one closing the chunk.
// GPU:       %[[HALF:.*]] = arith.muli %{{.*}}, %c4
// GPU:       %[[MINE:.*]] = arith.addi %[[HALF]], %[[WARP]]
// GPU:       memref.store %{{.*}}, %[[WA]][%[[MINE]]]
// GPU:       gpu.barrier
// GPU:       memref.load %[[WA]]
// GPU-NOT:   gpu.barrier
// GPU:       scf.yield
// GPU:     gpu.barrier
// GPU:   gpu.return
// The recurrent step: one kernel, a block per (batch, head) of its 16
// value columns, a lane each, its 8 warps one key each: an (8, 1) grid. The
// block stages q and k (widened from bf16) in shared memory, computes the
// retention prologue's per-head decay and normaliser where it reads them
// (step 3a: their two kernels are gone), and adds the warps' parts of the
// readout behind a second barrier; no shuffles.
// GPU-LABEL: func.func @step
// GPU: gpu.launch_func  @step_kernel::@step_kernel blocks in (%c8, %c1, %c1) threads in (%c256, %c1, %c1)
// GPU-NOT: gpu.launch_func
// GPU: return
// GPU-LABEL: gpu.module @step_kernel
// GPU: workgroup(%[[PARTS:[a-z0-9_]+]] : memref<256xf32, #gpu.address_space<workgroup>>, %{{[a-z0-9_]+}} : memref<8xf32, #gpu.address_space<workgroup>>, %{{[a-z0-9_]+}} : memref<8xf32, #gpu.address_space<workgroup>>)
// GPU-NOT: gpu.shuffle
// GPU: arith.extf %{{.*}} : bf16 to f32
// GPU: gpu.barrier
// GPU: math.expm1
// GPU: math.log1p
// GPU: scf.for
// GPU: memref.store %{{.*}}, %[[PARTS]]
// GPU-NEXT: gpu.barrier
// GPU-NOT: gpu.shuffle
// GPU-NOT: gpu.barrier
// GPU: gpu.return

// The end of the pipeline: host functions in the LLVM dialect, and one
// gpu.binary per kernel with a PTX object for each chip, the sm_90 one
// flagged and its kernel waiting for the kernel before it, then letting the
// next one launch (programmatic dependent launch), the sm_80 one without.
// CHECK-NOT: func.func
// CHECK-LABEL: llvm.func @prefill
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: gpu.launch_func
// CHECK: llvm.call @mgpuMemFree
// CHECK-NOT: __waits
// CHECK: gpu.binary @prefill_kernel  [#gpu.object<#nvvm.target<O = 3, chip = "sm_80">, properties = {{[^"]*}}, assembly = "{{[^"]*}}.target sm_80{{[^"]*}}.entry prefill_kernel({{[^"]*}}ret;
// CHECK-NOT: griddepcontrol
// CHECK-SAME: #gpu.object<#nvvm.target<O = 3, chip = "sm_90", flags = {densessm.programmatic_launch}>, properties = {{[^"]*}}, assembly = "{{[^"]*}}.target sm_90{{[^"]*}}.entry prefill_kernel({{[^"]*}}griddepcontrol.wait;\0A\09griddepcontrol.launch_dependents;
// The chunked scan's PTX: shared memory for the warp aggregates, warp
// shuffles up, barriers.
// CHECK: gpu.binary @prefill_kernel_0  [#gpu.object<#nvvm.target<O = 3, chip = "sm_80">, properties = {{[^"]*}}, assembly = "{{[^"]*}}.shared .align 4 .b8 {{[^"]*}}shfl.sync.up.b32{{[^"]*}}bar.sync
// CHECK-SAME: chip = "sm_90"
// CHECK-LABEL: llvm.func @step
// The recurrent step's PTX: shared memory and barriers, no shuffle.
// CHECK: gpu.binary @step_kernel  [#gpu.object<#nvvm.target<O = 3, chip = "sm_80">, properties = {{[^"]*}}, assembly = "{{[^"]*}}.entry step_kernel({{[^"]*}}.shared .align 4 .b8 {{[^"]*}}bar.sync
// CHECK-NOT: shfl.sync
// CHECK-SAME: chip = "sm_90"

// The host code's imports, once translated to LLVM IR: the mgpu* functions
// of MLIR's CUDA runtime wrappers (docs/cuda-codegen.md).
// LLVM-DAG: declare ptr @mgpuModuleLoadJIT(ptr, i32)
// LLVM-DAG: declare ptr @mgpuModuleGetFunction(ptr, ptr)
// LLVM-DAG: declare void @mgpuModuleUnload(ptr)
// LLVM-DAG: declare ptr @mgpuStreamCreate()
// LLVM-DAG: declare void @mgpuStreamSynchronize(ptr)
// LLVM-DAG: declare void @mgpuStreamDestroy(ptr)
// LLVM-DAG: declare void @mgpuLaunchKernel(ptr, i64, i64, i64, i64, i64, i64, i32, ptr, ptr, ptr, i64)
// LLVM-DAG: declare ptr @mgpuMemAlloc(i64, ptr, i8)
// LLVM-DAG: declare void @mgpuMemFree(ptr, ptr)

// One chip, and the RMSNorm as host loops over managed memory.
// OPTS-LABEL: llvm.func @prefill
// OPTS: llvm.cond_br
// OPTS: gpu.launch_func
// OPTS-NOT: chip = "sm_80"
// OPTS: gpu.binary @prefill_kernel  [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", flags = {densessm.programmatic_launch}>
// OPTS-NOT: chip = "sm_80"

// programmatic-launch=false: neither the flag nor the instructions.
// NOPDL-LABEL: llvm.func @prefill
// NOPDL-NOT: densessm.programmatic_launch
// NOPDL-NOT: griddepcontrol

func.func @prefill(%x: tensor<2x64x32xf32>, %w: tensor<32xf32>, %delta: tensor<2x64x32xf32>,
    %A: tensor<32x16xf32>, %B: tensor<2x64x16xf32>, %C: tensor<2x64x16xf32>,
    %D: tensor<32xf32>, %z: tensor<2x64x32xf32>, %bias: tensor<32xf32>)
    -> (tensor<2x64x32xf32>, tensor<2x32x16xf32>)
    attributes {densessm.schedule = #densessm.schedule<parallel>} {
  %u = densessm.rms_norm %x, %w {eps = 1.0e-05 : f32} : tensor<2x64x32xf32>, tensor<32xf32>
  %y, %s = densessm.selective_scan %u, %delta, %A, %B, %C D(%D) z(%z) delta_bias(%bias)
             {delta_softplus}
           : tensor<2x64x32xf32>, tensor<2x64x32xf32>, tensor<32x16xf32>, tensor<2x64x16xf32>,
             tensor<2x64x16xf32>, tensor<32xf32>, tensor<2x64x32xf32>, tensor<32xf32>
           -> tensor<2x64x32xf32>, tensor<2x32x16xf32>
  return %y, %s : tensor<2x64x32xf32>, tensor<2x32x16xf32>
}

func.func @step(%q: tensor<2x1x4x8xbf16>, %k: tensor<2x1x4x8xbf16>, %v: tensor<2x1x4x16xbf16>,
    %gamma: tensor<4xf32>, %pos: tensor<2xi64>, %s0: tensor<2x4x8x16xf32>)
    -> (tensor<2x1x4x16xbf16>, tensor<2x4x8x16xf32>)
    attributes {densessm.schedule = #densessm.schedule<recurrent>} {
  %o, %s = densessm.retention %q, %k, %v decay(%gamma) position(%pos) initial_state(%s0)
           : tensor<2x1x4x8xbf16>, tensor<2x1x4x8xbf16>, tensor<2x1x4x16xbf16>, tensor<4xf32>,
             tensor<2xi64>, tensor<2x4x8x16xf32>
           -> tensor<2x1x4x16xbf16>, tensor<2x4x8x16xf32>
  return %o, %s : tensor<2x1x4x16xbf16>, tensor<2x4x8x16xf32>
}

// A projection (a model's linear layer) becomes a host-code call of the
// runtime's cuBLAS GEMM on the managed buffers, not a kernel; the output
// buffer is zeroed by a kernel first (the GEMM accumulates).
// GPU-LABEL: func.func @project
// GPU: %[[PY:.*]] = gpu.alloc  host_shared () : memref<2x8x64xf32>
// GPU: gpu.launch_func
// GPU: %[[PYC:.*]] = memref.cast %[[PY]] : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// GPU: call @densessm_cuda_linear_f32(%[[PYC]], %{{.*}}, %{{.*}}) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) -> ()
// GPU-NOT: gpu.launch_func
// GPU: return %[[PY]]
// CHECK-LABEL: llvm.func @project
// CHECK: llvm.call @densessm_cuda_linear_f32(
// LLVM-DAG: declare void @_mlir_ciface_densessm_cuda_linear_f32(ptr, ptr, ptr)
// With cublas=false, the old form: a kernel of one thread per output
// element with its reduction loop (the zero fill fused into it, step 4a),
// and no call.
// KERNELS-LABEL: func.func @project
// KERNELS-NOT: call @densessm_cuda_linear_f32
// KERNELS: gpu.launch_func
// KERNELS-NOT: gpu.launch_func
// KERNELS: return
// KERNELS-NOT: densessm_cuda_linear_f32

#px = affine_map<(b, l, o, i) -> (b, l, i)>
#pw = affine_map<(b, l, o, i) -> (o, i)>
#py = affine_map<(b, l, o, i) -> (b, l, o)>
func.func @project(%x: tensor<2x8x32xf32>, %w: tensor<64x32xf32>) -> tensor<2x8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<2x8x64xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  %y = linalg.contract indexing_maps = [#px, #pw, #py]
         ins(%x, %w : tensor<2x8x32xf32>, tensor<64x32xf32>) outs(%init : tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}
