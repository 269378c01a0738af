// queue_full_stub.cpp — TEMPORARY until the engine branch lands is_queue_full().
#include "runtime/engine.h"
namespace whale {
__attribute__((weak)) bool is_queue_full(const Error& e) { return e.what().find("queue full") != std::string::npos; }
}  // namespace whale
