//===- Status.h - the runtime's error values --------------------*- C++ -*-===//
//
// The runtime reports every failure as a message (no exceptions, no abort):
// a Status is either ok or carries the message that becomes the C API's
// dssm_status.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_STATUS_H
#define DENSESSM_RUNTIME_SRC_STATUS_H

#include <sstream>
#include <string>
#include <utility>

namespace densessm::runtime {

class [[nodiscard]] Status {
public:
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status status;
    status.failed = true;
    status.text = std::move(message);
    return status;
  }
  bool isOk() const { return !failed; }
  const std::string &message() const { return text; }

private:
  bool failed = false;
  std::string text;
};

/// Concatenates the streamable arguments into an error Status.
template <typename... Parts> Status errorOf(const Parts &...parts) {
  std::ostringstream stream;
  (stream << ... << parts);
  return Status::error(stream.str());
}

} // namespace densessm::runtime

#define DSSM_RETURN_IF_ERROR(expr)                                             \
  do {                                                                         \
    ::densessm::runtime::Status status_ = (expr);                              \
    if (!status_.isOk())                                                       \
      return status_;                                                          \
  } while (false)

#endif // DENSESSM_RUNTIME_SRC_STATUS_H
