// What the emulator's NVRTC hands back as a "CUBIN": a magic word, the size, then the kernel library (an ELF shared
// object). cuModuleLoadData gets no size, so the image carries its own.
#pragma once
#include <cstring>
#include <cstdint>

static const char an_emu_image_magic[8] = {'A', 'N', 'E', 'M', 'U', 'S', 'O', '1'};

inline const unsigned char* an_emu_image_library(const void* image, size_t* bytes)
{
    auto* p = static_cast<const unsigned char*>(image);
    if (!p || memcmp(p, an_emu_image_magic, 8) != 0) return nullptr;
    uint64_t n;
    memcpy(&n, p + 8, 8);
    *bytes = (size_t)n;
    return p + 16;
}
