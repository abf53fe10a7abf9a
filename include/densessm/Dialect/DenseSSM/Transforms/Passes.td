//===- Passes.td - densessm dialect passes -----------------*- tablegen -*-===//

#ifndef DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_TD
#define DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DenseSSMSelectSchedule
    : InterfacePass<"densessm-select-schedule", "mlir::FunctionOpInterface"> {
  let summary = "Fix each function's schedule: parallel or recurrent";
  let description = [{
    Sets `densessm.schedule` on every function that runs densessm ops over
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
    Option<"schedule", "schedule", "std::string", /*default=*/"\"auto\"",
           "auto | parallel | recurrent">
  ];
  let dependentDialects = ["::mlir::densessm::DenseSSMDialect"];
}

#endif // DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_TD
