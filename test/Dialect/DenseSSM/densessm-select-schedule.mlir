// --densessm-select-schedule: fixes each function's schedule.
// RUN: densessm-opt %s -densessm-select-schedule -split-input-file | FileCheck %s --check-prefix=AUTO
// RUN: densessm-opt %s -densessm-select-schedule=schedule=parallel -split-input-file | FileCheck %s --check-prefix=PAR
// RUN: not densessm-opt %s -densessm-select-schedule=schedule=recurrent -split-input-file 2>&1 | FileCheck %s --check-prefix=REC
// RUN: not densessm-opt %s -densessm-select-schedule=schedule=chunky 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: for the --schedule option: Cannot find option named 'chunky'!

// A whole sequence: parallel.
// AUTO-LABEL: func.func @prefill
// AUTO-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
// PAR-LABEL: func.func @prefill
// PAR-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
// REC: error: cannot use schedule recurrent: the function runs over more than one token per sequence (or a dynamic number)
func.func @prefill(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>) -> tensor<1x8x32xf32> {
  %y, %win = densessm.causal_conv1d %x, %w : tensor<1x8x32xf32>, tensor<32x4xf32>
             -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  return %y : tensor<1x8x32xf32>
}

// -----

// One token per sequence: recurrent.
// AUTO-LABEL: func.func @step
// AUTO-SAME: attributes {densessm.schedule = #densessm.schedule<recurrent>}
// PAR-LABEL: func.func @step
// PAR-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
func.func @step(%x: tensor<1x1x32xf32>, %w: tensor<32x4xf32>, %win: tensor<1x32x3xf32>) -> tensor<1x1x32xf32> {
  %y, %win1 = densessm.causal_conv1d %x, %w window(%win)
              : tensor<1x1x32xf32>, tensor<32x4xf32>, tensor<1x32x3xf32>
              -> tensor<1x1x32xf32>, tensor<1x32x3xf32>
  return %y : tensor<1x1x32xf32>
}

// -----

// A dynamic length could be anything: parallel.
// AUTO-LABEL: func.func @dynamic
// AUTO-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
func.func @dynamic(%x: tensor<1x?x32xf32>, %w: tensor<32x4xf32>) -> tensor<1x?x32xf32> {
  %y, %win = densessm.causal_conv1d %x, %w : tensor<1x?x32xf32>, tensor<32x4xf32>
             -> tensor<1x?x32xf32>, tensor<1x32x3xf32>
  return %y : tensor<1x?x32xf32>
}

// -----

// A schedule already there is kept.
// AUTO-LABEL: func.func @kept
// AUTO-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
func.func @kept(%x: tensor<1x1x32xf32>, %w: tensor<32x4xf32>) -> tensor<1x1x32xf32>
    attributes {densessm.schedule = #densessm.schedule<parallel>} {
  %y, %win = densessm.causal_conv1d %x, %w : tensor<1x1x32xf32>, tensor<32x4xf32>
             -> tensor<1x1x32xf32>, tensor<1x32x3xf32>
  return %y : tensor<1x1x32xf32>
}

// -----

// Functions without densessm ops over time are left alone.
// AUTO-LABEL: func.func @no_scan
// AUTO-NOT: densessm.schedule
// AUTO: return
func.func @no_scan(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
