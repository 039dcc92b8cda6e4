#pragma once
// JsonLine: one flat JSON object per line (the JSON-lines training log). The core library depends
// on Eigen and Hana only, and a log line needs nothing but numbers and short strings, so this is
// a few lines of formatting rather than a JSON library. Non-finite numbers become null (JSON has
// no NaN), strings are escaped per RFC 8259.

#include <ccl/core/types.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

namespace ccl::pipeline {

class JsonLine {
 public:
  JsonLine& add(const std::string& key, double value) {
    key_(key);
    if (std::isfinite(value)) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.17g", value);
      out_ << buffer;
    } else {
      out_ << "null";
    }
    return *this;
  }
  JsonLine& add(const std::string& key, Index value) {
    key_(key);
    out_ << value;
    return *this;
  }
  JsonLine& add(const std::string& key, int value) { return add(key, Index(value)); }
  JsonLine& add(const std::string& key, const std::string& value) {
    key_(key);
    string_(value);
    return *this;
  }
  JsonLine& add(const std::string& key, const char* value) { return add(key, std::string(value)); }

  /// The object, without a trailing newline.
  std::string str() const { return out_.str() + "}"; }

 private:
  void key_(const std::string& key) {
    out_ << (first_ ? "{" : ",");
    first_ = false;
    string_(key);
    out_ << ":";
  }
  void string_(const std::string& text) {
    out_ << '"';
    for (const char c : text) {
      switch (c) {
        case '"': out_ << "\\\""; break;
        case '\\': out_ << "\\\\"; break;
        case '\n': out_ << "\\n"; break;
        case '\r': out_ << "\\r"; break;
        case '\t': out_ << "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
            out_ << buffer;
          } else {
            out_ << c;
          }
      }
    }
    out_ << '"';
  }

  std::ostringstream out_;
  bool first_ = true;
};

}  // namespace ccl::pipeline
