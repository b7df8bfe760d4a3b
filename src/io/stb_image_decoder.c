// stb_image's decoders (Debian's libstb-dev header), compiled here rather than taken from Debian's
// libstb.a, for two reasons: with -fwrapv (CMakeLists.txt), because stb 2.27's JPEG decoder
// multiplies DC sums that a corrupt file can push past int (finding 13 in docs/RELIABILITY.md),
// and wrapping makes that a wrong pixel of a broken picture instead of undefined behaviour; and so
// the fuzz and sanitizer builds instrument the same code kiln runs. Linked before libstb.a (which
// still provides stb_image_write), so the library's copy is never pulled in.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
