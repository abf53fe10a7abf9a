//===- NpyWriter.cpp - write a float32 NumPy .npy file --------------------===//

#include "NpyWriter.h"

#include "densessm/runtime/Runtime.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

void writeNpy(const std::string &path, const std::vector<float> &values,
              int64_t rows, int64_t columns) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(rows) + ", " + std::to_string(columns) +
                       "), }";
  // magic (6) + version (2) + length (2) + header, padded to 64 with a '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  uint16_t length = uint16_t(header.size());

  std::string temporary = path + ".tmp";
  FILE *file = std::fopen(temporary.c_str(), "wb");
  if (!file)
    throw densessm::runtime::Error("--dump-logits: cannot create " + path +
                                   ": " + std::strerror(errno));
  bool ok = std::fwrite("\x93NUMPY\x01\x00", 1, 8, file) == 8 &&
            std::fwrite(&length, 2, 1, file) == 1 &&
            std::fwrite(header.data(), 1, header.size(), file) == header.size() &&
            std::fwrite(values.data(), sizeof(float), values.size(), file) ==
                values.size();
  ok = std::fclose(file) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw densessm::runtime::Error("--dump-logits: cannot write " + path);
  }
}
