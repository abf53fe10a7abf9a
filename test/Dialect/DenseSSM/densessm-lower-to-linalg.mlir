// --densessm-lower-to-linalg: the non-scan model-level ops become linalg on
// tensors, computing in f32; scans are left to --densessm-lower-to-scan.
// RUN: densessm-opt %s -densessm-lower-to-linalg -split-input-file | FileCheck %s

// rms_norm: a sum-of-squares reduction over the last axis, then
// x * rsqrt(sum / C + eps) * w, rounded back to bf16.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @rms_norm
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0 : tensor<1x8x32xbf16>) outs(%{{.*}} : tensor<1x8xf32>)
// CHECK:   arith.extf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[CH]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %[[SUM]], %arg1 :
// CHECK:   math.rsqrt
// CHECK:   arith.truncf {{.*}} : f32 to bf16
// CHECK-NOT: densessm.
func.func @rms_norm(%x: tensor<1x8x32xbf16>, %w: tensor<32xf32>) -> tensor<1x8x32xbf16> {
  %y = densessm.rms_norm %x, %w {eps = 1.0e-05 : f32} : tensor<1x8x32xbf16>, tensor<32xf32>
  return %y : tensor<1x8x32xbf16>
}

// -----

// rotary: each channel reads its pair partner (c xor 1) and is rotated by
// (position + t) * theta_i.
// CHECK-LABEL: func.func @rotary
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<1x4x2x8xf32>, tensor<1xi32>)
// CHECK:   linalg.index 3
// CHECK:   arith.xori
// CHECK:   tensor.extract %arg0
// CHECK:   arith.extsi
// CHECK:   math.cos
// CHECK:   math.sin
func.func @rotary(%x: tensor<1x4x2x8xf32>, %p: tensor<1xi32>) -> tensor<1x4x2x8xf32> {
  %r = densessm.rotary %x position(%p) : tensor<1x4x2x8xf32>, tensor<1xi32>
  return %r : tensor<1x4x2x8xf32>
}

// -----

// embedding: a gather of the token's row.
// CHECK-LABEL: func.func @embedding
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<2x3xi64>) outs(%{{.*}} : tensor<2x3x16xf32>)
// CHECK:   arith.index_cast
// CHECK:   tensor.extract %arg0
func.func @embedding(%t: tensor<64x16xf32>, %ids: tensor<2x3xi64>) -> tensor<2x3x16xf32> {
  %h = densessm.embedding %t[%ids] : tensor<64x16xf32>, tensor<2x3xi64> -> tensor<2x3x16xf32>
  return %h : tensor<2x3x16xf32>
}

// -----

// causal_conv1d, never padding x: the first min(L, K-1) = 3 outputs read a
// [1, 6, 32] copy of the carried window (transposed to token-major) and x's
// first 3 tokens, the other 5 read four shifted views of x itself. Each
// part is one all-parallel generic (the taps unrolled, the tap weights as
// contiguous rows of the transposed weight, bias and SiLU fused) writing
// its slice of y. The final window is x's last 3 tokens, transposed back.
// CHECK-LABEL: func.func @causal_conv1d
// CHECK: %[[Y:.*]] = tensor.empty() : tensor<1x8x32xf32>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<32x4xf32>) {{.*}} permutation = [1, 0]
// CHECK: %[[FRONT:.*]] = linalg.transpose ins(%arg3 : tensor<1x32x3xf32>) outs(%{{.*}} : tensor<1x3x32xf32>) permutation = [0, 2, 1]
// CHECK: %[[S0:.*]] = tensor.insert_slice %[[FRONT]] into %{{.*}}[0, 0, 0] [1, 3, 32] [1, 1, 1] : tensor<1x3x32xf32> into tensor<1x6x32xf32>
// CHECK: %[[X3:.*]] = tensor.extract_slice %arg0[0, 0, 0] [1, 3, 32]
// CHECK: %[[S:.*]] = tensor.insert_slice %[[X3]] into %[[S0]][0, 3, 0] [1, 3, 32]
// CHECK: %[[HEAD:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins({{.*}} : tensor<1x3x32xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>)
// CHECK-COUNT-4: arith.mulf
// CHECK:   math.exp
// CHECK: %[[Y1:.*]] = tensor.insert_slice %[[HEAD]] into %[[Y]][0, 0, 0] [1, 3, 32]
// CHECK: %[[T3:.*]] = tensor.extract_slice %arg0[0, 3, 0] [1, 5, 32]
// CHECK: %[[REST:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}}, %[[T3]],
// CHECK: %[[Y2:.*]] = tensor.insert_slice %[[REST]] into %[[Y1]][0, 3, 0] [1, 5, 32]
// CHECK: %[[LAST:.*]] = tensor.extract_slice %arg0[0, 5, 0] [1, 3, 32] [1, 1, 1]
// CHECK: %[[WIN:.*]] = linalg.transpose ins(%[[LAST]] : tensor<1x3x32xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: return %[[Y2]], %[[WIN]]
func.func @causal_conv1d(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>, %b: tensor<32xf32>,
    %win: tensor<1x32x3xf32>) -> (tensor<1x8x32xf32>, tensor<1x32x3xf32>) {
  %y, %w1 = densessm.causal_conv1d %x, %w bias(%b) window(%win)
              {activation = #densessm.activation<silu>}
            : tensor<1x8x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<1x32x3xf32>
            -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  return %y, %w1 : tensor<1x8x32xf32>, tensor<1x32x3xf32>
}

// -----

// One token with a carried window (a decode step), bf16 activations: two
// generics reading the channel-major window and the [C, K] weight where
// they are (no transpose, no slice): y's taps are the window's 3 columns
// (constant indices) then x, each weight column w[c, k], the bias; the
// final window is the window shifted by one column (read at min(j + 1, 2))
// with x in the last column.
// CHECK-LABEL: func.func @conv_one_token
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x1x32xbf16>, %[[W:[^:]*]]: tensor<32x4xbf16>, %[[B:[^:]*]]: tensor<32xbf16>, %[[WIN:[^:]*]]: tensor<?x32x3xbf16>
// CHECK-NOT:   linalg.transpose
// CHECK-NOT:   tensor.extract_slice
// CHECK:       %[[Y:.*]] = linalg.generic {indexing_maps = [#[[TAP0:.*]], #[[TAP1:.*]], #[[TAP2:.*]], #[[ID:.*]], #[[W0:.*]], #[[W1:.*]], #[[W2:.*]], #[[W3:.*]], #[[CH:.*]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%[[WIN]], %[[WIN]], %[[WIN]], %[[X]], %[[W]], %[[W]], %[[W]], %[[W]], %[[B]] :
// CHECK-COUNT-4: arith.mulf
// CHECK:         math.exp
// CHECK:       %[[NEW:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x1x32xbf16>) outs(%{{.*}} : tensor<?x32x3xbf16>)
// CHECK:         %[[J:.*]] = linalg.index 2
// CHECK:         %[[NEXT:.*]] = arith.minui
// CHECK:         tensor.extract %[[WIN]][%{{.*}}, %{{.*}}, %[[NEXT]]]
// CHECK:         arith.select
// CHECK:       return %[[Y]], %[[NEW]]
func.func @conv_one_token(%x: tensor<?x1x32xbf16>, %w: tensor<32x4xbf16>, %b: tensor<32xbf16>,
    %win: tensor<?x32x3xbf16>) -> (tensor<?x1x32xbf16>, tensor<?x32x3xbf16>) {
  %y, %w1 = densessm.causal_conv1d %x, %w bias(%b) window(%win)
              {activation = #densessm.activation<silu>}
            : tensor<?x1x32xbf16>, tensor<32x4xbf16>, tensor<32xbf16>, tensor<?x32x3xbf16>
            -> tensor<?x1x32xbf16>, tensor<?x32x3xbf16>
  return %y, %w1 : tensor<?x1x32xbf16>, tensor<?x32x3xbf16>
}

// -----

// Width 1: no window to carry, one generic over x; the final window is an
// empty tensor.
// CHECK-LABEL: func.func @conv_width_one
// CHECK-COUNT-1: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<1x32x0xf32>
// CHECK: return %{{.*}}, %[[EMPTY]]
func.func @conv_width_one(%x: tensor<1x8x32xf32>, %w: tensor<32x1xf32>)
    -> (tensor<1x8x32xf32>, tensor<1x32x0xf32>) {
  %y, %w1 = densessm.causal_conv1d %x, %w : tensor<1x8x32xf32>, tensor<32x1xf32>
            -> tensor<1x8x32xf32>, tensor<1x32x0xf32>
  return %y, %w1 : tensor<1x8x32xf32>, tensor<1x32x0xf32>
}

// -----

// dense_connect (released form): the gate's two projections and SiLUs, the
// gated kept tensors, their sum with the current tensor, then the RMSNorm.
// CHECK-LABEL: func.func @dense_connect
// CHECK: %[[H:.*]] = linalg.generic {{.*}} ins(%arg2, %arg3 : tensor<1x8x64xf32>, tensor<2x64xf32>)
// CHECK: %[[HS:.*]] = linalg.generic {{.*}} ins(%[[H]] :
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[HS]], %arg4 :
// CHECK: %[[SEL:.*]] = linalg.generic {{.*}} ins(%[[S]] :
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%arg1, %[[SEL]] :
// CHECK: %[[F:.*]] = linalg.generic {{.*}} ins(%arg0, %[[G]] :
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[F]] :
// CHECK-NOT: densessm.
func.func @dense_connect(%c: tensor<1x8x32xf32>, %k: tensor<1x8x32xf32>, %x: tensor<1x8x64xf32>,
    %fc1: tensor<2x64xf32>, %fc2: tensor<32x2xf32>, %n: tensor<32xf32>) -> tensor<1x8x32xf32> {
  %r = densessm.dense_connect %c, [%k] gate(%x, %fc1, %fc2) norm(%n)
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x64xf32>,
         tensor<2x64xf32>, tensor<32x2xf32>, tensor<32xf32>
  return %r : tensor<1x8x32xf32>
}

// -----

// Scans are not this pass's.
// CHECK-LABEL: func.func @scans_left_alone
// CHECK: densessm.selective_scan
func.func @scans_left_alone(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) -> tensor<1x8x32xf32> {
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return %y : tensor<1x8x32xf32>
}
