//===- DenseSSMDialect.h - the densessm dialect -----------------*- C++ -*-===//
#ifndef DENSESSM_DIALECT_DENSESSM_IR_DENSESSMDIALECT_H
#define DENSESSM_DIALECT_DENSESSM_IR_DENSESSMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h.inc"

#endif // DENSESSM_DIALECT_DENSESSM_IR_DENSESSMDIALECT_H
