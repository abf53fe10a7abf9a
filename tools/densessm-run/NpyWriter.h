//===- NpyWriter.h - write a float32 NumPy .npy file ------------*- C++ -*-===//
#ifndef DENSESSM_TOOLS_DENSESSM_RUN_NPYWRITER_H
#define DENSESSM_TOOLS_DENSESSM_RUN_NPYWRITER_H

#include <cstdint>
#include <string>
#include <vector>

/// Writes `values` as a C-order float32 array [rows, columns] in NumPy's
/// .npy format (version 1.0), through a temporary file renamed into place;
/// throws densessm::runtime::Error on failure.
void writeNpy(const std::string &path, const std::vector<float> &values,
              int64_t rows, int64_t columns);

#endif // DENSESSM_TOOLS_DENSESSM_RUN_NPYWRITER_H
