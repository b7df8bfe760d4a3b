// What the accuracy-guard CLI tests (CPU and GPU) share: an engine's logits against the float
// model's on held-out pictures, pooled as the guard pools them.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_fixture.h"
#include "io/npy.h"
#include "quant/accuracy_budget.h"

namespace kiln::test {

// kiln(engine_run + " --input pixel_values=P --output ...") and kiln("run " + model + ...) for
// each picture P, in `dir`; a failed run is a test failure (and leaves that picture out).
template <class Kiln>
quant::Agreement logits_against_float(Kiln&& kiln, const std::string& dir, const std::string& engine_run,
                                      const std::string& model, const std::vector<std::string>& pictures) {
  quant::AgreementTally tally;
  for (const std::string& picture : pictures) {
    const std::string input = " --input pixel_values=" + picture;
    const CliResult a = kiln(engine_run + input + " --output " + dir + "/engine");
    const CliResult b = kiln("run " + model + input + " --output " + dir + "/float");
    EXPECT_EQ(a.code, 0) << a.err;
    EXPECT_EQ(b.code, 0) << b.err;
    if (a.code != 0 || b.code != 0) continue;
    tally.add({{"logits", read_npy(dir + "/engine/logits.npy")}}, {{"logits", read_npy(dir + "/float/logits.npy")}},
              {"logits"});
  }
  return tally.result();
}

}  // namespace kiln::test
