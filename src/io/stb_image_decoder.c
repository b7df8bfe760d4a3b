// stb_image's decoders (Debian's libstb-dev header), compiled here rather than taken from Debian's
// libstb.a, for two reasons: with -fwrapv (CMakeLists.txt), because stb 2.27's JPEG decoder
// multiplies DC sums that a corrupt file can push past int (finding 13 in docs/RELIABILITY.md),
// and wrapping makes that a wrong pixel of a broken picture instead of undefined behaviour; and so
// the fuzz and sanitizer builds instrument the same code kiln runs. Those builds leave out the
// shift checks here (-fno-sanitize=shift, finding 14 in docs/RELIABILITY.md): once a corrupt scan
// has consumed more bits than remain, stb 2.27 refills its bit buffer with zero bytes shifted by
// 32 or more; the value shifted is 0 and the picture is refused ("unknown marker"), but the
// shift itself is undefined and no flag defines it. Linked before libstb.a (which
// still provides stb_image_write), so the library's copy is never pulled in.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
