#include "engine/toml_input_check.h"

#include <cctype>
#include <cstdio>
#include <string>

namespace replplan {
namespace {

// The code point starting at text[i] and its length in bytes; length 0 when the bytes there are not
// valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
struct Decoded {
  char32_t cp = 0;
  size_t length = 0;
};

Decoded Decode(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return {lead, 1};
  size_t length = 0;
  char32_t cp = 0;
  unsigned char min = 0x80, max = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0F;
    if (lead == 0xE0) min = 0xA0;  // overlong
    if (lead == 0xED) max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07;
    if (lead == 0xF0) min = 0x90;  // overlong
    if (lead == 0xF4) max = 0x8F;  // above U+10FFFF
  } else {
    return {};
  }
  if (i + length > text.size()) return {};
  for (size_t k = 1; k < length; ++k) {
    const unsigned char b = byte(i + k);
    if (k == 1 ? (b < min || b > max) : (b < 0x80 || b > 0xBF)) return {};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, length};
}

std::string CodePoint(char32_t cp) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(cp));
  return buffer;
}

bool IsSmartQuote(char32_t cp) { return cp == U'\u2018' || cp == U'\u2019' || cp == U'\u201C' || cp == U'\u201D'; }

enum class State { kNormal, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

class Scanner {
 public:
  Scanner(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  std::optional<Diagnostic> Run() {
    size_t i = text_.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    while (i < text_.size()) {
      const Decoded d = Decode(text_, i);
      if (d.length == 0) {
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text_[i]));
        return Problem(std::string("invalid UTF-8 (byte ") + byte + ")",
                       "TOML files are UTF-8: save the file as UTF-8 (iconv -f LATIN1 -t UTF-8, or the editor's "
                       "encoding setting)");
      }
      if (std::optional<Diagnostic> problem = Step(d.cp, i)) return problem;
      if (d.cp == U'\n') {
        ++line_;
        column_ = 1;
      } else {
        ++column_;
      }
      i += skip_ > 0 ? skip_ : d.length;
      column_ += skip_ > 0 ? static_cast<int>(skip_) - 1 : 0;
      skip_ = 0;
    }
    return std::nullopt;
  }

 private:
  // Looks at the character `cp` at byte `i` in the current state; may set skip_ to consume more
  // than this character (the three quotes opening or closing a multi-line string: all ASCII).
  std::optional<Diagnostic> Step(char32_t cp, size_t i) {
    switch (state_) {
      case State::kNormal: return Normal(cp, i);
      case State::kComment:
        if (cp == U'\n') {
          state_ = State::kNormal;
          NewLine();
          return std::nullopt;
        }
        return Control(cp, i, "in a comment");
      case State::kBasic:
        if (cp == U'\n') {
          state_ = State::kNormal;  // an unterminated string is toml++'s to report
          escaped_ = false;
          NewLine();
        } else if (escaped_) {
          escaped_ = false;
        } else if (cp == U'\\') {
          escaped_ = true;
        } else if (cp == U'"') {
          state_ = State::kNormal;
        }
        return std::nullopt;
      case State::kLiteral:
        if (cp == U'\'' || cp == U'\n') state_ = State::kNormal;
        if (cp == U'\n') NewLine();
        return std::nullopt;
      case State::kMultiBasic: return MultiBasic(cp, i);
      case State::kMultiLiteral:
        if (cp == U'\'' && Run3(i, '\'')) Close(i, '\'');
        return std::nullopt;
    }
    return std::nullopt;
  }

  std::optional<Diagnostic> Normal(char32_t cp, size_t i) {
    const bool terminator = cp == U' ' || cp == U'\t' || cp == U'\r' || cp == U'\n' || cp == U']' || cp == U'}' ||
                            cp == U',' || cp == U'#';
    if (word_ && !terminator) return Plain(cp, i);
    word_ = false;
    const char32_t previous = previous_;
    if (cp == U'\n') {
      NewLine();
      return std::nullopt;
    }
    if (cp == U'#') {
      state_ = State::kComment;  // as whitespace: previous_ stays
      return std::nullopt;
    }
    if (cp == U' ' || cp == U'\t' || cp == U'\r') return Control(cp, i, "outside a string");
    previous_ = cp;
    const bool opener = cp == U'"' || cp == U'\'' || cp == U'[' || cp == U'{';
    if (opener && !Opens(previous)) {
      // Not where a key or value starts: toml++ reports an error here, possibly after looking
      // ahead to the end of the "word" (below), so none of it counts as a string or a bracket.
      word_ = !key_;
      return Plain(cp, i);
    }
    if (cp == U'"' || cp == U'\'') {
      const char quote = static_cast<char>(cp);
      if (Run3(i, quote)) {
        state_ = quote == '"' ? State::kMultiBasic : State::kMultiLiteral;
        skip_ = 3;
      } else {
        state_ = quote == '"' ? State::kBasic : State::kLiteral;
      }
    } else if (cp == U'[') {
      if (key_ && nesting_.empty()) {
        // A [table] header: keys inside. toml++ 3.3.0 assumes (TOML_ASSERT_ASSUME, undefined
        // behaviour when false) that a key starts after "[" or "[[" and spaces.
        if (previous != U'[' && !HeaderHasKey(i)) {
          return Problem("a table header needs a name after '['", "write [name] or [[name]] on a line of its own");
        }
        return std::nullopt;
      }
      nesting_.push_back('[');
      key_ = false;
    } else if (cp == U'{') {
      nesting_.push_back('{');
      key_ = true;
    } else if (cp == U'}' && !nesting_.empty() && nesting_.back() == '[') {
      // toml++ 3.3.0 assumes no '}' where an array expects a value (TOML_ASSERT_ASSUME).
      return Problem("'}' inside an array", "close the array with ']' (and an inline table opened in it with '}')");
    } else if (cp == U']' || cp == U'}') {
      if (!nesting_.empty() && nesting_.back() == (cp == U']' ? '[' : '{')) nesting_.pop_back();
      key_ = false;
    } else if (cp == U',') {
      key_ = !nesting_.empty() && nesting_.back() == '{';
    } else if (cp == U'=') {
      key_ = false;
    } else {
      // A value that is not a string, array or table (a number, date, boolean): toml++ reads it,
      // and may look ahead, up to whitespace or one of ] } , # (its "value terminators").
      word_ = !key_;
      return Plain(cp, i);
    }
    return std::nullopt;
  }

  // A character that is neither in a string nor structure.
  std::optional<Diagnostic> Plain(char32_t cp, size_t i) {
    if (cp >= 0x80) {
      if (IsSmartQuote(cp)) {
        return Problem("typographic quote " + CodePoint(cp) + " outside a string",
                       "TOML strings use straight quotes: \"...\" or '...'");
      }
      return Problem("non-ASCII character " + CodePoint(cp) + " outside a quoted string or a comment",
                     "TOML allows non-ASCII text only in quoted strings and comments: quote the value (or key), "
                     "or remove the character");
    }
    return Control(cp, i, "outside a string");
  }

  // A line break outside strings ends a key = value line at the top level; inside an array (or an
  // inline table, where TOML forbids it) it is only whitespace.
  void NewLine() {
    if (!nesting_.empty()) return;
    previous_ = U'\n';
    key_ = true;
  }

  // Whether toml++ reads a quote (or [ or {) after `previous` (the last character outside strings,
  // spaces, comments and line breaks inside brackets aside) as the start of a string (or array, or
  // table): where a key or a value begins. Anywhere else (`x = 1"`, `x = +T["`, `x = -."`) it is
  // an error, and toml++ may first look past it for the end of the number it was reading (calling
  // its whitespace lookup on each character), so what follows is scanned as outside a string.
  bool Opens(char32_t previous) const {
    if (previous == U'\n' || previous == U'[' || previous == U'{' || previous == U',') return true;
    return key_ ? previous == U'.' : previous == U'=';
  }

  std::optional<Diagnostic> MultiBasic(char32_t cp, size_t i) {
    const bool whitespace = cp == U' ' || cp == U'\t' || cp == U'\n' || cp == U'\r';
    if (trimming_) {
      if (whitespace) return std::nullopt;
      trimming_ = false;
      if (cp >= 0x80) {
        return Problem("non-ASCII character " + CodePoint(cp) + " first after a line-ending backslash",
                       "the TOML reader replplan uses (toml++ 3.3.0) cannot read it there: write it as \\u" +
                           CodePoint(cp).substr(2) + ", or end the line before without a backslash");
      }
    }
    if (escaped_) {
      escaped_ = false;
      if (whitespace) {
        trimming_ = true;
      } else if (cp >= 0x80) {
        return Problem("backslash before the non-ASCII character " + CodePoint(cp) + " in a multi-line string",
                       "that is no escape sequence: remove the backslash, or write \\\\ for a backslash");
      }
      return std::nullopt;
    }
    if (cp == U'\\') {
      escaped_ = true;
    } else if (cp == U'"' && Run3(i, '"')) {
      Close(i, '"');
    }
    return std::nullopt;
  }

  // Control characters TOML forbids outside strings; inside strings toml++ reports them itself.
  std::optional<Diagnostic> Control(char32_t cp, size_t i, const std::string& where) {
    if (cp == U'\t' || cp == U'\n') return std::nullopt;
    if (cp == U'\r' && i + 1 < text_.size() && text_[i + 1] == '\n') return std::nullopt;
    if (cp < 0x20 || cp == 0x7F) {
      return Problem("control character " + CodePoint(cp) + " " + where,
                     cp == U'\r' ? "line breaks are LF or CRLF; a lone CR is not allowed"
                                 : "remove it: only tab and line breaks may appear there");
    }
    return std::nullopt;
  }

  // Whether a bare key or a quoted one starts after the "[" (or "[[") at byte `i` and spaces.
  bool HeaderHasKey(size_t i) const {
    size_t k = i + 1;
    if (k < text_.size() && text_[k] == '[') ++k;
    while (k < text_.size() && (text_[k] == ' ' || text_[k] == '\t')) ++k;
    if (k >= text_.size()) return false;
    const char c = text_[k];
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '"' || c == '\'';
  }

  bool Run3(size_t i, char quote) const { return text_.substr(i, 3) == std::string(3, quote); }

  // Closes a multi-line string at the run of quotes starting at `i`: up to two quotes before the
  // closing three belong to the string ("""a""""" is `a""`).
  void Close(size_t i, char quote) {
    size_t run = 0;
    while (i + run < text_.size() && text_[i + run] == quote) ++run;
    skip_ = run;
    state_ = State::kNormal;
  }

  Diagnostic Problem(std::string message, std::string hint) const {
    return Diagnostic{SourceLocation{file_, line_, column_}, std::move(message), std::move(hint)};
  }

  std::string_view text_;
  const std::string& file_;
  State state_ = State::kNormal;
  bool escaped_ = false;   // the previous character in a basic string was an escaping backslash
  bool trimming_ = false;  // after a line-ending backslash in a multi-line basic string
  char32_t previous_ = U'\n';  // the last character outside strings and comments, spaces aside
  bool key_ = true;            // a key may start here (else a value): line start, '{', ',' in { }
  bool word_ = false;          // in a bare value (number, date, boolean), up to a value terminator
  std::string nesting_;        // the arrays ('[') and inline tables ('{') open around here
  size_t skip_ = 0;
  int line_ = 1;
  int column_ = 1;
};

}  // namespace

std::optional<Diagnostic> CheckTomlInput(std::string_view text, const std::string& file_name) {
  return Scanner(text, file_name).Run();
}

}  // namespace replplan
