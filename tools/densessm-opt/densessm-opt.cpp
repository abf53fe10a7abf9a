//===- densessm-opt.cpp - the densessm optimizer driver -------------------===//
//
// mlir-opt with the densessm dialect and passes: parses, verifies, runs
// passes on and prints IR in the densessm dialect and the upstream dialects.
//
//===----------------------------------------------------------------------===//

#include "densessm/InitAll.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::densessm::registerAllDialects(registry);
  mlir::densessm::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "densessm optimizer driver\n", registry));
}
