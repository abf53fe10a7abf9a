//===- PayloadFile.cpp - files of a FlatBuffer and aligned payloads -------===//

#include "densessm/Support/PayloadFile.h"

#include "densessm/Support/Error.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Signals.h"

#include <algorithm>
#include <cstring>

using namespace mlir::densessm;

void PayloadFileWriter::write(const void *data, uint64_t size) {
  stream.write(static_cast<const char *>(data), size);
  written += size;
}

void PayloadFileWriter::writeHeader(const char (&magic)[8], uint32_t version,
                                    llvm::ArrayRef<uint8_t> flatbuffer) {
  char preamble[kPayloadPreambleSize] = {};
  uint64_t offset = kPayloadPreambleSize, size = flatbuffer.size();
  std::memcpy(preamble, magic, 8);
  std::memcpy(preamble + 8, &version, 4); // bytes 12..15: reserved, zero
  std::memcpy(preamble + 16, &offset, 8);
  std::memcpy(preamble + 24, &size, 8);
  write(preamble, sizeof preamble);
  write(flatbuffer.data(), flatbuffer.size());
}

void PayloadFileWriter::writePayload(uint64_t offset, const void *data,
                                     uint64_t size) {
  static const char zeros[kPayloadAlignment] = {};
  while (written < offset)
    write(zeros, std::min<uint64_t>(kPayloadAlignment, offset - written));
  write(data, size);
}

llvm::Error mlir::densessm::writeFileAtomically(
    llvm::StringRef path, llvm::StringRef what,
    llvm::function_ref<llvm::Error(llvm::raw_ostream &)> write) {
  llvm::SmallString<256> temporary;
  int fd;
  if (auto error =
          llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temporary))
    return makeError("{0}: cannot create the output file: {1}", path,
                     error.message());
  llvm::sys::RemoveFileOnSignal(temporary); // an interrupted write leaves nothing
  auto discard = [&] {
    llvm::sys::fs::remove(temporary);
    llvm::sys::DontRemoveFileOnSignal(temporary);
  };
  llvm::Error result = [&]() -> llvm::Error {
    llvm::raw_fd_ostream stream(fd, /*shouldClose=*/true);
    if (llvm::Error error = write(stream))
      return error;
    stream.close();
    if (stream.has_error()) {
      std::string message = stream.error().message();
      stream.clear_error();
      return makeError("{0}: write failed: {1}", path, message);
    }
    return llvm::Error::success();
  }();
  if (result) {
    discard();
    return result;
  }
  if (auto error = llvm::sys::fs::rename(temporary, path)) {
    discard();
    return makeError("{0}: cannot move the finished {1} into place: {2}", path,
                     what, error.message());
  }
  llvm::sys::DontRemoveFileOnSignal(temporary);
  return llvm::Error::success();
}
