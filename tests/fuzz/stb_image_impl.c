// stb_image's decoders compiled into the fuzz build, instrumented for coverage and the
// sanitizers (Debian's libstb.a is not); linked before libstb.a, so its copy is not pulled in.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
