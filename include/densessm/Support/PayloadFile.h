//===- PayloadFile.h - files of a FlatBuffer and aligned payloads -*- C++ -*-===//
//
// The module file (.dssm) and the exported graph (.dsg) share one shape: a
// 32-byte preamble (8-byte magic, uint32 version, uint32 reserved, uint64
// FlatBuffer offset = 32, uint64 FlatBuffer size), the FlatBuffer, then
// payloads at 64-byte aligned absolute offsets outside it (FlatBuffers
// address at most 2 GiB). This writes that shape; each format's writer
// builds its own FlatBuffer.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_SUPPORT_PAYLOADFILE_H
#define DENSESSM_SUPPORT_PAYLOADFILE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>

namespace mlir::densessm {

constexpr uint64_t kPayloadAlignment = 64;
constexpr uint64_t kPayloadPreambleSize = 32;

inline uint64_t alignToPayload(uint64_t offset) {
  return (offset + kPayloadAlignment - 1) / kPayloadAlignment *
         kPayloadAlignment;
}

/// Writes a payload file front to back.
class PayloadFileWriter {
public:
  explicit PayloadFileWriter(llvm::raw_ostream &stream) : stream(stream) {}
  /// The preamble and the FlatBuffer, at offsets 0 and 32.
  void writeHeader(const char (&magic)[8], uint32_t version,
                   llvm::ArrayRef<uint8_t> flatbuffer);
  /// Zeros up to `offset` (a payload's start), then the payload.
  void writePayload(uint64_t offset, const void *data, uint64_t size);

private:
  void write(const void *data, uint64_t size);
  llvm::raw_ostream &stream;
  uint64_t written = 0;
};

/// Creates `path` all at once: `write` fills a temporary file beside it,
/// which is renamed into place on success and removed on failure or on a
/// signal, so no partial file is ever left. `what` names the file's kind in
/// messages ("module", "graph").
llvm::Error writeFileAtomically(
    llvm::StringRef path, llvm::StringRef what,
    llvm::function_ref<llvm::Error(llvm::raw_ostream &)> write);

} // namespace mlir::densessm

#endif // DENSESSM_SUPPORT_PAYLOADFILE_H
