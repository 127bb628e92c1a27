// The message of the ctnn::Error that f throws, or "" if it throws none (tests only).
#pragma once
#include <string>

#include <ctnn/core/error.hpp>

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ctnn::Error& e) {
    return e.what();
  }
  return "";
}
