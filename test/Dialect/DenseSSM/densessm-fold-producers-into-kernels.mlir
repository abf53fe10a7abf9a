// RUN: densessm-opt %s --densessm-fold-producers-into-kernels --split-input-file | FileCheck %s

// An elementwise op whose output only a kernel reads, each load reading
// another element in every iteration of the loops around it, is evaluated
// where the kernel loads it; a chain of them folds (the last first), and
// the ops go away.

#row = affine_map<(b, h) -> (b, h)>
#head = affine_map<(b, h) -> (h)>
#batch = affine_map<(b, h) -> (b)>

// CHECK-LABEL: func.func @chain(
// CHECK-SAME:    %[[RATE:[^:]*]]: memref<4xf32>, %[[POS:[^:]*]]: memref<2xi64>, %[[OUT:[^:]*]]: memref<2x4xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         gpu.launch
// CHECK:           %[[H:.*]] = arith.remui
// CHECK:           %[[B:.*]] = arith.divui
// The second op's body at (b, h), reading the first op's body there.
// CHECK:           %[[R:.*]] = memref.load %[[RATE]][%[[H]]]
// CHECK:           %[[P:.*]] = memref.load %[[POS]][%[[B]]]
// CHECK:           %[[LOG:.*]] = math.log %[[R]]
// CHECK:           %[[PF:.*]] = arith.sitofp %[[P]]
// CHECK:           %[[FIRST:.*]] = arith.mulf %[[LOG]], %[[PF]]
// CHECK:           %[[SECOND:.*]] = arith.negf %[[FIRST]]
// Then the first op's own load.
// CHECK:           %[[R2:.*]] = memref.load %[[RATE]][%[[H]]]
// CHECK:           %[[P2:.*]] = memref.load %[[POS]][%[[B]]]
// CHECK:           %[[LOG2:.*]] = math.log %[[R2]]
// CHECK:           arith.mulf %[[LOG2]]
// CHECK:           memref.store
// CHECK:           gpu.terminator
func.func @chain(%rate: memref<4xf32>, %pos: memref<2xi64>, %out: memref<2x4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %first = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#head, #batch, #row], iterator_types = ["parallel", "parallel"]}
      ins(%rate, %pos : memref<4xf32>, memref<2xi64>) outs(%first : memref<2x4xf32>) {
  ^bb0(%r: f32, %p: i64, %o: f32):
    %log = math.log %r : f32
    %pf = arith.sitofp %p : i64 to f32
    %v = arith.mulf %log, %pf : f32
    linalg.yield %v : f32
  }
  %second = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%first : memref<2x4xf32>) outs(%second : memref<2x4xf32>) {
  ^bb0(%f: f32, %o: f32):
    %n = arith.negf %f : f32
    linalg.yield %n : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %h = arith.remui %tx, %c4 : index
    %b = arith.divui %tx, %c4 : index
    %s = memref.load %second[%b, %h] : memref<2x4xf32>
    %f = memref.load %first[%b, %h] : memref<2x4xf32>
    %sum = arith.addf %s, %f : f32
    memref.store %sum, %out[%b, %h] : memref<2x4xf32>
    gpu.terminator
  }
  return
}

// -----

#row = affine_map<(b, h) -> (b, h)>

// A load in a loop of the kernel whose induction variable it is indexed by
// (a Mamba step's A, read in the loop over the state index): each
// iteration reads another element, so the op is evaluated there.
// CHECK-LABEL: func.func @indexed_by_the_loop(
// CHECK-SAME:    %[[IN:[^:]*]]: memref<2x4xf32>, %[[OUT:[^:]*]]: memref<2x4xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         gpu.launch
// CHECK:           scf.for %[[I:.*]] =
// CHECK:             %[[V:.*]] = memref.load %[[IN]][%{{.*}}, %[[I]]]
// CHECK:             %[[E:.*]] = math.exp %[[V]]
// CHECK:             memref.store %[[E]], %[[OUT]]
func.func @indexed_by_the_loop(%in: memref<2x4xf32>, %out: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c2, %sy = %c1, %sz = %c1) {
    scf.for %i = %c0 to %c4 step %c1 {
      %v = memref.load %t[%tx, %i] : memref<2x4xf32>
      memref.store %v, %out[%tx, %i] : memref<2x4xf32>
    }
    gpu.terminator
  }
  return
}

// -----

#row = affine_map<(b, h) -> (b, h)>

// An op that gathers (rotary: it loads the other element of each pair,
// i ^ 1), fed by an elementwise op (a dense connection's scaling of k):
// both fold into the kernel's loop over i. The gather's loads of the
// scaled buffer become loads at i and at i ^ 1, each another element per
// iteration, so the scaling folds there too (the last op first).
// CHECK-LABEL: func.func @gather_chain(
// CHECK-SAME:    %[[IN:[^:]*]]: memref<2x4xf32>, %[[OUT:[^:]*]]: memref<2x4xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         gpu.launch
// CHECK:           scf.for %[[I:.*]] =
// CHECK:             %[[V:.*]] = memref.load %[[IN]][%{{.*}}, %[[I]]]
// CHECK:             %[[S:.*]] = arith.mulf %[[V]]
// CHECK:             %[[J:.*]] = arith.xori %[[I]], %{{.*}}
// CHECK:             %[[W:.*]] = memref.load %[[IN]][%{{.*}}, %[[J]]]
// CHECK:             %[[P:.*]] = arith.mulf %[[W]]
// CHECK:             %[[R:.*]] = arith.subf %[[S]], %[[P]]
// CHECK:             memref.store %[[R]], %[[OUT]]
// CHECK-LABEL: func.func @gather_of_a_buffer_written_between(
// CHECK:         linalg.generic
func.func @gather_chain(%in: memref<2x4xf32>, %out: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %half = arith.constant 0.5 : f32
  %scaled = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%scaled : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.mulf %v, %half : f32
    linalg.yield %s : f32
  }
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%scaled : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %b = linalg.index 0 : index
    %i = linalg.index 1 : index
    %partner = arith.xori %i, %c1 : index
    %w = memref.load %scaled[%b, %partner] : memref<2x4xf32>
    %r = arith.subf %v, %w : f32
    linalg.yield %r : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c2, %sy = %c1, %sz = %c1) {
    scf.for %i = %c0 to %c4 step %c1 {
      %v = memref.load %t[%tx, %i] : memref<2x4xf32>
      memref.store %v, %out[%tx, %i] : memref<2x4xf32>
    }
    gpu.terminator
  }
  return
}

func.func @gather_of_a_buffer_written_between(%in: memref<2x4xf32>, %g: memref<2x4xf32>, %out: memref<2x4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %b = linalg.index 0 : index
    %i = linalg.index 1 : index
    %partner = arith.xori %i, %c1 : index
    %w = memref.load %g[%b, %partner] : memref<2x4xf32>
    %r = arith.subf %v, %w : f32
    linalg.yield %r : f32
  }
  memref.store %x, %g[%c0, %c0] : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c2, %sy = %c1, %sz = %c1) {
    scf.for %i = %c0 to %c4 step %c1 {
      %v = memref.load %t[%tx, %i] : memref<2x4xf32>
      memref.store %v, %out[%tx, %i] : memref<2x4xf32>
    }
    gpu.terminator
  }
  return
}

// -----

#row = affine_map<(b, h) -> (b, h)>

// Between the op and the kernel: a kernel with a barrier, and a call of a
// runtime function that says what it writes (a projection on cuBLAS), none
// of it the op's input: the op folds. A call of a function that does not
// say may write anything: the op stays.
// CHECK-LABEL: func.func @across_a_barrier_and_a_call(
// CHECK-NOT:     linalg.generic
// CHECK:         call @linear
// CHECK:         gpu.launch
// CHECK:           math.exp
// CHECK-LABEL: func.func @across_an_unknown_call(
// CHECK:         linalg.generic
// CHECK:         call @unknown
func.func private @linear(memref<2x4xf32>, memref<2x4xf32>) attributes {densessm.written_arguments = array<i64: 0>}
func.func private @unknown(memref<2x4xf32>)

func.func @across_a_barrier_and_a_call(%in: memref<2x4xf32>, %y: memref<2x4xf32>, %out: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %in[%c0, %tx] : memref<2x4xf32>
    gpu.barrier
    memref.store %v, %y[%c0, %tx] : memref<2x4xf32>
    gpu.terminator
  }
  func.call @linear(%y, %in) : (memref<2x4xf32>, memref<2x4xf32>) -> ()
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %t[%c0, %tx] : memref<2x4xf32>
    memref.store %v, %out[%c0, %tx] : memref<2x4xf32>
    gpu.terminator
  }
  return
}

func.func @across_an_unknown_call(%in: memref<2x4xf32>, %out: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  func.call @unknown(%out) : (memref<2x4xf32>) -> ()
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %t[%c0, %tx] : memref<2x4xf32>
    memref.store %v, %out[%c0, %tx] : memref<2x4xf32>
    gpu.terminator
  }
  return
}

// -----

#row = affine_map<(b, h) -> (b, h)>

// Left alone: a load inside a loop of the kernel that reads the same
// element in every iteration (the op would be computed once per token);
// an output that is also returned; an input written
// between the op and the kernel; an input the kernel writes.
// CHECK-LABEL: func.func @in_a_loop(
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @returned(
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @written_between(
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @kernel_writes_input(
// CHECK:         linalg.generic
func.func @in_a_loop(%in: memref<2x4xf32>, %out: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    scf.for %token = %c0 to %c4 step %c1 {
      %v = memref.load %t[%c0, %tx] : memref<2x4xf32>
      memref.store %v, %out[%c0, %tx] : memref<2x4xf32>
    }
    gpu.terminator
  }
  return
}

func.func @returned(%in: memref<2x4xf32>, %out: memref<2x4xf32>) -> memref<2x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %t[%c0, %tx] : memref<2x4xf32>
    memref.store %v, %out[%c0, %tx] : memref<2x4xf32>
    gpu.terminator
  }
  return %t : memref<2x4xf32>
}

func.func @written_between(%in: memref<2x4xf32>, %out: memref<2x4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  memref.store %x, %in[%c0, %c0] : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %t[%c0, %tx] : memref<2x4xf32>
    memref.store %v, %out[%c0, %tx] : memref<2x4xf32>
    gpu.terminator
  }
  return
}

func.func @kernel_writes_input(%in: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<2x4xf32>) outs(%t : memref<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %t[%c0, %tx] : memref<2x4xf32>
    memref.store %v, %in[%c0, %tx] : memref<2x4xf32>
    gpu.terminator
  }
  return
}

// -----

// A projection over few inputs (Mamba's dt_proj: dt_rank of them) whose
// output only a kernel reads, once per element: the kernel evaluates it
// where it loads it, a loop over the inputs from the fill's value, each
// term the projection's body (the bf16 weight widened); the fill and the
// projection go away.
#px = affine_map<(b, l, o, i) -> (b, l, i)>
#pw = affine_map<(b, l, o, i) -> (o, i)>
#py = affine_map<(b, l, o, i) -> (b, l, o)>

// CHECK-LABEL: func.func @small_projection(
// CHECK-SAME:    %[[X0:[^:]*]]: memref<2x1x3xf32>, %[[W:[^:]*]]: memref<8x3xbf16>,
// CHECK:         %[[X:.*]] = memref.alloc() : memref<2x1x3xf32>
// CHECK-NOT:     linalg.fill
// CHECK-NOT:     linalg.contract
// CHECK:         gpu.launch
// CHECK:           %[[O:.*]] = arith.remui
// CHECK:           %[[B:.*]] = arith.divui
// CHECK:           %[[DOT:.*]] = scf.for %[[I:.*]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args(%[[ACC:.*]] = %cst) -> (f32) {
// CHECK:             %[[XI:.*]] = memref.load %[[X]][%[[B]], %c0, %[[I]]]
// CHECK:             %[[WI:.*]] = memref.load %[[W]][%[[O]], %[[I]]]
// CHECK:             %[[WF:.*]] = arith.extf %[[WI]] : bf16 to f32
// CHECK:             %[[T:.*]] = arith.mulf %[[XI]], %[[WF]]
// CHECK:             %[[NEXT:.*]] = arith.addf %[[ACC]], %[[T]]
// CHECK:             scf.yield %[[NEXT]]
// CHECK:           arith.addf %[[DOT]]
// CHECK:           gpu.terminator
func.func @small_projection(%x0: memref<2x1x3xf32>, %w: memref<8x3xbf16>, %bias: memref<8xf32>)
    -> memref<2x1x8xf32> {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  // x computed before (here copied): a buffer no argument may be.
  %x = memref.alloc() : memref<2x1x3xf32>
  memref.copy %x0, %x : memref<2x1x3xf32> to memref<2x1x3xf32>
  %y = memref.alloc() : memref<2x1x8xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<2x1x8xf32>)
  linalg.contract indexing_maps = [#px, #pw, #py]
      ins(%x, %w : memref<2x1x3xf32>, memref<8x3xbf16>) outs(%y : memref<2x1x8xf32>)
  %out = memref.alloc() : memref<2x1x8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c1, %sz = %c1) {
    %o = arith.remui %tx, %c8 : index
    %b = arith.divui %tx, %c8 : index
    %c0 = arith.constant 0 : index
    %d = memref.load %y[%b, %c0, %o] : memref<2x1x8xf32>
    %bo = memref.load %bias[%o] : memref<8xf32>
    %v = arith.addf %d, %bo : f32
    memref.store %v, %out[%b, %c0, %o] : memref<2x1x8xf32>
    gpu.terminator
  }
  return %out : memref<2x1x8xf32>
}

// -----

// Left as they are: a projection over more than 256 inputs (a dot of that
// many terms at every load), one whose output is not filled right before
// it, one whose output another op also reads, and one whose x may be the
// buffer the kernel writes (two arguments): each thread would read all of
// x's row while other threads write it.
#qx = affine_map<(b, l, o, i) -> (b, l, i)>
#qw = affine_map<(b, l, o, i) -> (o, i)>
#qy = affine_map<(b, l, o, i) -> (b, l, o)>

// CHECK-LABEL: func.func @wide_projection(
// CHECK:         linalg.contract
// CHECK-LABEL: func.func @unfilled_projection(
// CHECK:         linalg.contract
// CHECK-LABEL: func.func @projection_read_twice(
// CHECK:         linalg.contract
// CHECK-LABEL: func.func @projection_of_an_aliasing_argument(
// CHECK:         linalg.contract
func.func @wide_projection(%x: memref<1x1x300xf32>, %w: memref<4x300xf32>, %out: memref<1x1x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %y = memref.alloc() : memref<1x1x4xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x4xf32>)
  linalg.contract indexing_maps = [#qx, #qw, #qy]
      ins(%x, %w : memref<1x1x300xf32>, memref<4x300xf32>) outs(%y : memref<1x1x4xf32>)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %d = memref.load %y[%c0, %c0, %tx] : memref<1x1x4xf32>
    memref.store %d, %out[%c0, %c0, %tx] : memref<1x1x4xf32>
    gpu.terminator
  }
  return
}

func.func @unfilled_projection(%x: memref<1x1x3xf32>, %w: memref<4x3xf32>, %out: memref<1x1x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %y = memref.alloc() : memref<1x1x4xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x4xf32>)
  memref.store %zero, %out[%c1, %c1, %c1] : memref<1x1x4xf32>
  linalg.contract indexing_maps = [#qx, #qw, #qy]
      ins(%x, %w : memref<1x1x3xf32>, memref<4x3xf32>) outs(%y : memref<1x1x4xf32>)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %d = memref.load %y[%c0, %c0, %tx] : memref<1x1x4xf32>
    memref.store %d, %out[%c0, %c0, %tx] : memref<1x1x4xf32>
    gpu.terminator
  }
  return
}

func.func @projection_read_twice(%x: memref<1x1x3xf32>, %w: memref<4x3xf32>, %out: memref<1x1x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %y = memref.alloc() : memref<1x1x4xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x4xf32>)
  linalg.contract indexing_maps = [#qx, #qw, #qy]
      ins(%x, %w : memref<1x1x3xf32>, memref<4x3xf32>) outs(%y : memref<1x1x4xf32>)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %d = memref.load %y[%c0, %c0, %tx] : memref<1x1x4xf32>
    memref.store %d, %out[%c0, %c0, %tx] : memref<1x1x4xf32>
    gpu.terminator
  }
  memref.copy %y, %out : memref<1x1x4xf32> to memref<1x1x4xf32>
  return
}

func.func @projection_of_an_aliasing_argument(%x: memref<1x1x4xf32>, %w: memref<4x4xf32>,
                                              %out: memref<1x1x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %y = memref.alloc() : memref<1x1x4xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x4xf32>)
  linalg.contract indexing_maps = [#qx, #qw, #qy]
      ins(%x, %w : memref<1x1x4xf32>, memref<4x4xf32>) outs(%y : memref<1x1x4xf32>)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %d = memref.load %y[%c0, %c0, %tx] : memref<1x1x4xf32>
    memref.store %d, %out[%c0, %c0, %tx] : memref<1x1x4xf32>
    gpu.terminator
  }
  return
}

// -----

// A load at a clamped index (the recurrent step's keys past K, computed on
// the last key and discarded) still reads another element in each
// iteration where its value counts: the producer folds.
// CHECK-LABEL: func.func @clamped_index(
// CHECK-NOT:     linalg.generic
// CHECK:         gpu.launch
// CHECK:           scf.for
// CHECK:             %[[I:.*]] = arith.minui
// CHECK:             memref.load %{{.*}}[%[[I]]]
// CHECK:             math.exp
func.func @clamped_index(%a: memref<5xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant 0.0 : f32
  %e = memref.alloc() : memref<5xf32>
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%a : memref<5xf32>) outs(%e : memref<5xf32>) {
  ^bb0(%in: f32, %o: f32):
    %x = math.exp %in : f32
    linalg.yield %x : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c2, %sy = %c1, %sz = %c1) {
    %sum = scf.for %i = %tx to %c5 step %c4 iter_args(%acc = %zero) -> (f32) {
      %j = arith.addi %i, %c2 : index
      %jc = arith.minui %j, %c4 : index
      %v = memref.load %e[%jc] : memref<5xf32>
      %n = arith.addf %acc, %v : f32
      scf.yield %n : f32
    }
    memref.store %sum, %out[%tx] : memref<8xf32>
    gpu.terminator
  }
  return
}
