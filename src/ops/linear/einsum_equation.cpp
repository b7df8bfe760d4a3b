#include "ops/linear/einsum_equation.h"

#include <algorithm>
#include <cctype>

namespace kiln::linear {
namespace {

constexpr int kEllipsisBase = 52;

int letter_id(char c) { return std::isupper(static_cast<unsigned char>(c)) ? c - 'A' : 26 + (c - 'a'); }

struct Term {
  std::vector<int> letters_before, letters_after;  // around the ellipsis (all in before if none)
  bool ellipsis = false;
};

Term parse_term(const OpContextBase& ctx, const std::string& t) {
  Term term;
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, 3, "...") == 0) {
      if (term.ellipsis) ctx.invalid("equation term '" + t + "' has two ellipses");
      term.ellipsis = true;
      i += 3;
    } else if (std::isalpha(static_cast<unsigned char>(t[i]))) {
      (term.ellipsis ? term.letters_after : term.letters_before).push_back(letter_id(t[i]));
      ++i;
    } else {
      ctx.invalid(std::string("equation has an invalid character '") + t[i] + "'");
    }
  }
  return term;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts{""};
  for (char c : s) {
    if (c == sep) parts.emplace_back();
    else parts.back().push_back(c);
  }
  return parts;
}

}  // namespace

EinsumEquation parse_einsum(const OpContextBase& ctx, const std::string& equation,
                            const std::vector<int>& ranks) {
  std::string eq;
  for (char c : equation)
    if (!std::isspace(static_cast<unsigned char>(c))) eq.push_back(c);
  size_t arrow = eq.find("->");
  bool explicit_out = arrow != std::string::npos;
  std::string lhs = explicit_out ? eq.substr(0, arrow) : eq;
  std::vector<std::string> terms = split(lhs, ',');
  if (terms.size() != ranks.size())
    ctx.invalid("equation '" + equation + "' has " + std::to_string(terms.size()) +
                " operands but the node has " + std::to_string(ranks.size()) + " inputs");

  EinsumEquation out;
  int ellipsis_rank = 0;
  std::vector<int> count(kEllipsisBase, 0);
  for (size_t i = 0; i < terms.size(); ++i) {
    Term t = parse_term(ctx, terms[i]);
    int letters = int(t.letters_before.size() + t.letters_after.size());
    int e = ranks[i] - letters;
    if (e < 0 || (e > 0 && !t.ellipsis))
      ctx.invalid("equation term '" + terms[i] + "' does not match input " + std::to_string(i) +
                  " of rank " + std::to_string(ranks[i]));
    ellipsis_rank = std::max(ellipsis_rank, e);
    std::vector<int> labels = t.letters_before;
    // Ellipsis dims are numbered from the right so operands broadcast like numpy.
    for (int j = 0; j < e; ++j) labels.push_back(-(e - j));  // placeholder: -1 is the last
    labels.insert(labels.end(), t.letters_after.begin(), t.letters_after.end());
    for (int id : t.letters_before) ++count[size_t(id)];
    for (int id : t.letters_after) ++count[size_t(id)];
    out.inputs.push_back(labels);
  }
  for (auto& labels : out.inputs)
    for (int& id : labels)
      if (id < 0) id = kEllipsisBase + ellipsis_rank + id;  // -1 -> last ellipsis id
  out.num_labels = kEllipsisBase + ellipsis_rank;

  if (explicit_out) {
    Term t = parse_term(ctx, eq.substr(arrow + 2));
    std::vector<int> letters = t.letters_before;
    letters.insert(letters.end(), t.letters_after.begin(), t.letters_after.end());
    for (int id : letters) {
      if (count[size_t(id)] == 0)
        ctx.invalid("output label of equation '" + equation + "' is not in any input");
      if (std::count(letters.begin(), letters.end(), id) > 1)
        ctx.invalid("equation '" + equation + "' repeats an output label");
    }
    // Like numpy: broadcast dims may not vanish from an explicit output.
    if (!t.ellipsis && ellipsis_rank > 0)
      ctx.invalid("equation '" + equation + "' drops the ellipsis dims from its output");
    out.output = t.letters_before;
    if (t.ellipsis)
      for (int j = 0; j < ellipsis_rank; ++j) out.output.push_back(kEllipsisBase + j);
    out.output.insert(out.output.end(), t.letters_after.begin(), t.letters_after.end());
  } else {
    // Implicit output: ellipsis dims, then the letters used exactly once, alphabetically (ASCII).
    for (int j = 0; j < ellipsis_rank; ++j) out.output.push_back(kEllipsisBase + j);
    for (int id = 0; id < kEllipsisBase; ++id)
      if (count[size_t(id)] == 1) out.output.push_back(id);
  }
  return out;
}

std::vector<int64_t> einsum_label_sizes(const OpContextBase& ctx, const EinsumEquation& eq,
                                        const std::vector<Dims>& dims) {
  size_t n = size_t(eq.num_labels);
  std::vector<int64_t> known(n, -1);  // the agreed size (ellipsis: ignoring broadcast 1s)
  std::vector<bool> unknown(n, false);
  for (size_t i = 0; i < eq.inputs.size(); ++i) {
    for (size_t d = 0; d < eq.inputs[i].size(); ++d) {
      size_t id = size_t(eq.inputs[i][d]);
      int64_t v = dims[i][d];
      bool ellipsis = id >= size_t(kEllipsisBase);
      if (v < 0) {
        unknown[id] = true;
      } else if (ellipsis && v == 1) {
        // broadcasts against any size
      } else if (known[id] < 0) {
        known[id] = v;
      } else if (known[id] != v) {
        ctx.invalid("Einsum dimension sizes disagree for one label (" + std::to_string(known[id]) +
                    " vs " + std::to_string(v) + ") at input " + std::to_string(i));
      }
    }
  }
  std::vector<int64_t> size(n);
  for (size_t id = 0; id < n; ++id)
    size[id] = known[id] >= 0 ? known[id] : unknown[id] ? -1 : 1;  // unused letters: 1
  return size;
}

}  // namespace kiln::linear
