//===- DenseSSMAttrs.h - densessm enum attributes ---------------*- C++ -*-===//
#ifndef DENSESSM_DIALECT_DENSESSM_IR_DENSESSMATTRS_H
#define DENSESSM_DIALECT_DENSESSM_IR_DENSESSMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "densessm/Dialect/DenseSSM/IR/DenseSSMEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "densessm/Dialect/DenseSSM/IR/DenseSSMAttrs.h.inc"

#endif // DENSESSM_DIALECT_DENSESSM_IR_DENSESSMATTRS_H
