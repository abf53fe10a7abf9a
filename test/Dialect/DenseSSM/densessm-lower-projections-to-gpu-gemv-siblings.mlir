// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=1 wide-loads=false" --canonicalize --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=1 wide-loads=false fuse-siblings=false" --canonicalize --split-input-file | FileCheck %s --check-prefix=OFF

// Consecutive projections of the same x (a layer's q, k and v) are one GEMV
// kernel: projection p takes the blocks from the sum of the blocks of those
// before it (ceil(outputs / 8) each, 8 warps a block), its warps' outputs
// counted from its first block, and the kernel goes where the last of
// them was. Only when they lower the same way, none reads what another
// writes, and nothing between them touches their buffers.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, o) -> (b, l, o)>

// q (20 outputs: blocks 0-2), k (8: block 3, with a silu epilogue) and v
// (9: blocks 4-5) of one x: one kernel of 6 blocks. Block bx takes the
// member whose range holds it: bx - first is its block within the member.
// (Canonicalization drops k's own output, which the epilogue's alone is
// read of.)
// CHECK-LABEL: func.func @q_k_v(
// CHECK-SAME:    %[[X:[^:]*]]: memref<1x1x64xf32>, %[[WQ:[^:]*]]: memref<20x64xbf16>, %[[WK:[^:]*]]: memref<8x64xbf16>, %[[WV:[^:]*]]: memref<9x64xf32>)
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C6:.*]] = arith.constant 6 : index
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK:         %[[Q:.*]] = memref.alloc() : memref<1x1x20xf32>
// CHECK:         %[[KS:.*]] = memref.alloc() : memref<1x1x8xf32>
// CHECK:         %[[V:.*]] = memref.alloc() : memref<1x1x9xf32>
// CHECK-NOT:     gpu.launch
// CHECK:         gpu.launch blocks(%[[BX:[^,]*]], {{.*}} in (%{{.*}} = %[[C6]],
// CHECK:           %[[WARP:.*]] = arith.divui
// CHECK:           %[[IN_Q:.*]] = arith.cmpi ult, %[[BX]], %[[C3]]
// CHECK:           scf.if %[[IN_Q]] {
// CHECK:             %[[QB:.*]] = arith.muli %[[BX]], %[[C8]]
// CHECK:             %[[QO:.*]] = arith.addi %[[QB]], %[[WARP]]
// CHECK:               memref.load %[[WQ]][%[[QO]],
// CHECK:               memref.store %{{.*}}, %[[Q]][%{{.*}}, %{{.*}}, %[[QO]]]
// CHECK:           %[[TO_K:.*]] = arith.cmpi ult, %[[BX]], %[[C4]]
// CHECK:           %[[FROM_K:.*]] = arith.cmpi uge, %[[BX]], %[[C3]]
// CHECK:           %[[IN_K:.*]] = arith.andi %[[FROM_K]], %[[TO_K]]
// CHECK:           scf.if %[[IN_K]] {
// CHECK:             %[[KB:.*]] = arith.subi %[[BX]], %[[C3]]
// CHECK:             %[[KO0:.*]] = arith.muli %[[KB]], %[[C8]]
// CHECK:             %[[KO:.*]] = arith.addi %[[KO0]], %[[WARP]]
// CHECK:               memref.load %[[WK]][%[[KO]],
// CHECK:               math.exp
// CHECK:               memref.store %{{.*}}, %[[KS]][%{{.*}}, %{{.*}}, %[[KO]]]
// CHECK:           %[[TO_V:.*]] = arith.cmpi ult, %[[BX]], %[[C6]]
// CHECK:           %[[FROM_V:.*]] = arith.cmpi uge, %[[BX]], %[[C4]]
// CHECK:           %[[IN_V:.*]] = arith.andi %[[FROM_V]], %[[TO_V]]
// CHECK:           scf.if %[[IN_V]] {
// CHECK:             arith.subi %[[BX]], %[[C4]]
// CHECK:               memref.load %[[WV]]
// CHECK:               memref.store %{{.*}}, %[[V]]
// CHECK:           gpu.terminator
// CHECK-NOT:     gpu.launch
// CHECK-NOT:     linalg.
// CHECK:         return %[[Q]], %[[KS]], %[[V]]
// OFF-LABEL:   func.func @q_k_v(
// OFF-COUNT-3:   gpu.launch
// OFF-NOT:       gpu.launch
// OFF:           return
func.func @q_k_v(%x: memref<1x1x64xf32>, %wq: memref<20x64xbf16>, %wk: memref<8x64xbf16>, %wv: memref<9x64xf32>) -> (memref<1x1x20xf32>, memref<1x1x8xf32>, memref<1x1x9xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %q = memref.alloc() : memref<1x1x20xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x20xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<20x64xbf16>) outs(%q : memref<1x1x20xf32>)
  %k = memref.alloc() : memref<1x1x8xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x8xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<1x1x64xf32>, memref<8x64xbf16>) outs(%k : memref<1x1x8xf32>)
  %ks = memref.alloc() : memref<1x1x8xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : memref<1x1x8xf32>) outs(%ks : memref<1x1x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %v, %d : f32
    linalg.yield %s : f32
  }
  %v = memref.alloc() : memref<1x1x9xf32>
  linalg.fill ins(%zero : f32) outs(%v : memref<1x1x9xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wv : memref<1x1x64xf32>, memref<9x64xf32>) outs(%v : memref<1x1x9xf32>)
  return %q, %ks, %v : memref<1x1x20xf32>, memref<1x1x8xf32>, memref<1x1x9xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// Dynamic rows: one run-time choice for both; its other side keeps both
// fills and projections.
// CHECK-LABEL: func.func @dynamic_rows(
// CHECK:         scf.if
// CHECK:           gpu.launch
// CHECK-NOT:       gpu.launch
// CHECK:         } else {
// CHECK:           linalg.fill
// CHECK:           linalg.contract
// CHECK:           linalg.fill
// CHECK:           linalg.contract
// CHECK:         }
// CHECK-NOT:     gpu.launch
// CHECK:         return
func.func @dynamic_rows(%x: memref<?x1x64xf32>, %wq: memref<16x64xf32>, %wk: memref<16x64xf32>) -> (memref<?x1x16xf32>, memref<?x1x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x1x64xf32>
  %q = memref.alloc(%b) : memref<?x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<?x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<?x1x64xf32>, memref<16x64xf32>) outs(%q : memref<?x1x16xf32>)
  %k = memref.alloc(%b) : memref<?x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<?x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<?x1x64xf32>, memref<16x64xf32>) outs(%k : memref<?x1x16xf32>)
  return %q, %k : memref<?x1x16xf32>, memref<?x1x16xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, o) -> (b, l, o)>

// Left alone (two kernels each): an op between them that writes what the
// second reads (its x), or reads what it writes; the second projection
// reading the first's output; an output count known only at run time.
// CHECK-LABEL: func.func @x_written_between(
// CHECK-COUNT-2: gpu.launch
// CHECK-LABEL: func.func @output_read_between(
// CHECK-COUNT-2: gpu.launch
// CHECK-LABEL: func.func @chained(
// CHECK-COUNT-2: gpu.launch
// CHECK-LABEL: func.func @dynamic_outputs(
// CHECK-COUNT-2: gpu.launch
func.func @x_written_between(%x: memref<1x1x64xf32>, %wq: memref<16x64xf32>, %wk: memref<16x64xf32>, %next: memref<1x1x64xf32>) -> (memref<1x1x16xf32>, memref<1x1x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %q = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<16x64xf32>) outs(%q : memref<1x1x16xf32>)
  memref.copy %next, %x : memref<1x1x64xf32> to memref<1x1x64xf32>
  %k = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<1x1x64xf32>, memref<16x64xf32>) outs(%k : memref<1x1x16xf32>)
  return %q, %k : memref<1x1x16xf32>, memref<1x1x16xf32>
}

func.func @output_read_between(%x: memref<1x1x64xf32>, %wq: memref<16x64xf32>, %wk: memref<16x64xf32>, %k: memref<1x1x16xf32>, %out: memref<1x1x16xf32>) -> memref<1x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %q = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<16x64xf32>) outs(%q : memref<1x1x16xf32>)
  memref.copy %k, %out : memref<1x1x16xf32> to memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<1x1x64xf32>, memref<16x64xf32>) outs(%k : memref<1x1x16xf32>)
  return %q : memref<1x1x16xf32>
}

func.func @chained(%x: memref<1x1x64xf32>, %wq: memref<64x64xf32>, %wk: memref<16x64xf32>) -> memref<1x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %q = memref.alloc() : memref<1x1x64xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x64xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<64x64xf32>) outs(%q : memref<1x1x64xf32>)
  %k = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%q, %wk : memref<1x1x64xf32>, memref<16x64xf32>) outs(%k : memref<1x1x16xf32>)
  return %k : memref<1x1x16xf32>
}

func.func @dynamic_outputs(%x: memref<1x1x64xf32>, %wq: memref<?x64xf32>, %wk: memref<16x64xf32>) -> (memref<1x1x?xf32>, memref<1x1x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %o = memref.dim %wq, %c0 : memref<?x64xf32>
  %q = memref.alloc(%o) : memref<1x1x?xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x?xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<?x64xf32>) outs(%q : memref<1x1x?xf32>)
  %k = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<1x1x64xf32>, memref<16x64xf32>) outs(%k : memref<1x1x16xf32>)
  return %q, %k : memref<1x1x?xf32>, memref<1x1x16xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, o) -> (b, l, o)>

// Hoisted: an op between the two projections that reads the first's
// output (a dense layer's fusion of its first gate) does not stop the
// second from joining: it moves up into the first's kernel, with its
// output's allocation, sized after the first. The op between then reads q
// after the kernel wrote it.
// Both still overwrite their outputs (their zero fills found before the
// allocation moved in between q's fill and q).
// CHECK-LABEL: func.func @hoisted(
// CHECK:         %[[Q:.*]] = memref.alloc() : memref<1x1x16xf32>
// CHECK:         %[[O:.*]] = arith.maxui
// CHECK:         %[[K:.*]] = memref.alloc(%[[O]]) : memref<1x1x?xf32>
// CHECK:         gpu.launch blocks(%{{.*}}) in (%{{.*}} = %c4,
// CHECK-NOT:       memref.load %[[Q]]
// CHECK-NOT:       memref.load %[[K]]
// CHECK:         gpu.terminator
// CHECK-NOT:     gpu.launch
// CHECK:         memref.copy
// CHECK-NOT:     gpu.launch
// CHECK:         return
func.func @hoisted(%x: memref<1x1x64xf32>, %wq: memref<16x64xf32>, %wk: memref<16x64xf32>, %n: index) -> (memref<1x1x16xf32>, memref<1x1x16xf32>, memref<1x1x?xf32>) {
  %zero = arith.constant 0.0 : f32
  %c16 = arith.constant 16 : index
  %q = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<16x64xf32>) outs(%q : memref<1x1x16xf32>)
  %kept = memref.alloc() : memref<1x1x16xf32>
  memref.copy %q, %kept : memref<1x1x16xf32> to memref<1x1x16xf32>
  %o = arith.maxui %n, %c16 : index
  %k = memref.alloc(%o) : memref<1x1x?xf32>
  %k16 = memref.cast %k : memref<1x1x?xf32> to memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k16 : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<1x1x64xf32>, memref<16x64xf32>) outs(%k16 : memref<1x1x16xf32>)
  return %q, %kept, %k : memref<1x1x16xf32>, memref<1x1x16xf32>, memref<1x1x?xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, o) -> (b, l, o)>
memref.global "private" constant @W : memref<32x64xf32> = dense<1.0>

// Two projections hoisted into one kernel, the second's weights the view's
// source the first's weights are: the definition moves up once, before
// its view.
// CHECK-LABEL: func.func @two_hoisted(
// CHECK:         %[[D:.*]] = memref.get_global @W
// CHECK:         memref.subview %[[D]]
// CHECK:         gpu.launch blocks(%{{.*}}) in (%{{.*}} = %c8,
// CHECK:         gpu.terminator
// CHECK-NOT:     gpu.launch
// CHECK:         memref.copy
// CHECK-NOT:     gpu.launch
// CHECK:         return
func.func @two_hoisted(%x: memref<1x1x64xf32>, %wq: memref<16x64xf32>) -> (memref<1x1x16xf32>, memref<1x1x16xf32>, memref<1x1x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %q = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<16x64xf32>) outs(%q : memref<1x1x16xf32>)
  %kept = memref.alloc() : memref<1x1x16xf32>
  memref.copy %q, %kept : memref<1x1x16xf32> to memref<1x1x16xf32>
  %d = memref.get_global @W : memref<32x64xf32>
  %f = memref.subview %d[0, 0] [16, 64] [1, 1] : memref<32x64xf32> to memref<16x64xf32, strided<[64, 1]>>
  %k = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %f : memref<1x1x64xf32>, memref<16x64xf32, strided<[64, 1]>>) outs(%k : memref<1x1x16xf32>)
  %v = memref.alloc() : memref<1x1x32xf32>
  linalg.fill ins(%zero : f32) outs(%v : memref<1x1x32xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %d : memref<1x1x64xf32>, memref<32x64xf32>) outs(%v : memref<1x1x32xf32>)
  return %kept, %k, %v : memref<1x1x16xf32>, memref<1x1x16xf32>, memref<1x1x32xf32>
}

// Not hoisted (two kernels each): a copy into a select of the output's
// allocation (the select may be it); a copy into a function argument,
// which may be x; a generic whose body loads the output (a function
// argument) while the copy writes another argument.
// CHECK-LABEL: func.func @output_selected_between(
// CHECK-COUNT-2: gpu.launch
// CHECK-LABEL: func.func @argument_written_between(
// CHECK-COUNT-2: gpu.launch
// CHECK-LABEL: func.func @output_loaded_in_a_body_between(
// CHECK-COUNT-2: gpu.launch
func.func @output_selected_between(%x: memref<1x1x64xf32>, %wq: memref<16x64xf32>, %wk: memref<16x64xf32>, %other: memref<1x1x16xf32>, %out: memref<1x1x16xf32>, %c: i1) -> (memref<1x1x16xf32>, memref<1x1x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %q = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<16x64xf32>) outs(%q : memref<1x1x16xf32>)
  %k = memref.alloc() : memref<1x1x16xf32>
  %sel = arith.select %c, %k, %other : memref<1x1x16xf32>
  memref.copy %q, %sel : memref<1x1x16xf32> to memref<1x1x16xf32>
  memref.copy %sel, %out : memref<1x1x16xf32> to memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<1x1x64xf32>, memref<16x64xf32>) outs(%k : memref<1x1x16xf32>)
  return %q, %k : memref<1x1x16xf32>, memref<1x1x16xf32>
}

func.func @argument_written_between(%x: memref<1x1x64xf32>, %wq: memref<16x64xf32>, %wk: memref<16x64xf32>, %out: memref<1x1x16xf32>) -> (memref<1x1x16xf32>, memref<1x1x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %q = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<16x64xf32>) outs(%q : memref<1x1x16xf32>)
  memref.copy %q, %out : memref<1x1x16xf32> to memref<1x1x16xf32>
  %k = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<1x1x64xf32>, memref<16x64xf32>) outs(%k : memref<1x1x16xf32>)
  return %q, %k : memref<1x1x16xf32>, memref<1x1x16xf32>
}

func.func @output_loaded_in_a_body_between(%x: memref<1x1x64xf32>, %wq: memref<16x64xf32>, %wk: memref<16x64xf32>, %k: memref<1x1x16xf32>) -> (memref<1x1x16xf32>, memref<1x1x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %q = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<1x1x64xf32>, memref<16x64xf32>) outs(%q : memref<1x1x16xf32>)
  %seen = memref.alloc() : memref<1x1x16xf32>
  linalg.generic {indexing_maps = [#id3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%seen : memref<1x1x16xf32>) {
  ^bb0(%o: f32):
    %v = memref.load %k[%c0, %c0, %c0] : memref<1x1x16xf32>
    linalg.yield %v : f32
  }
  linalg.fill ins(%zero : f32) outs(%k : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<1x1x64xf32>, memref<16x64xf32>) outs(%k : memref<1x1x16xf32>)
  return %q, %seen : memref<1x1x16xf32>, memref<1x1x16xf32>
}
