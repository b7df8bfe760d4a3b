// Calibrators: the amax (the |x| that maps to the largest quantized value) of one tensor from
// what calibration collected (range_histogram.h).
//
//   minmax      the largest |x| seen: nothing clips, outliers stretch the step
//   percentile  the |x| below which `percentile` % of the values lie (upper edge of the bin the
//               percentile falls in): clips the rarest values
//   entropy     the clip threshold whose quantized distribution is closest in KL divergence to
//               the observed one (entropy_calibrator.cpp)
#pragma once
#include <string>

#include "quant/range_histogram.h"

namespace kiln::quant {

enum class Calibrator { kMinMax, kPercentile, kEntropy };

// "minmax" | "percentile" | "entropy"; anything else is kInvalidArgument naming the choices.
Calibrator calibrator_from_name(const std::string& name);
const char* calibrator_name(Calibrator c);

// kInvalidArgument unless percentile lies in (0, 100].
void check_percentile(double percentile);

double amax_minmax(const RangeHistogram& h);
// percentile as check_percentile takes it.
double amax_percentile(const RangeHistogram& h, double percentile);
// levels: how many quantization steps cover [0, amax] (128 for int8's magnitudes).
double amax_entropy(const RangeHistogram& h, int levels = 128);

double amax_of(const RangeHistogram& h, Calibrator c, double percentile);

}  // namespace kiln::quant
