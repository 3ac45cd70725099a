// The NVRTC calls AmbientNative binds (Backends/Cuda/Native/Nvrtc.cs), compiling a kernel file as host C++ instead of
// PTX: clang++ with emu_device.h force-included, plus a generated entry point per __global__ function. The image it
// returns (emu_image.h) is what the emulated cuModuleLoadData loads. Load it with AMBIENT_NVRTC=<this library>.
// Compiler: $AMBIENT_EMU_CXX, else clang++-14. Headers: this library's source folder, fixed at build time.
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>
#include "emu_image.h"

#ifndef AN_EMU_INCLUDE_DIR
#error "build with -DAN_EMU_INCLUDE_DIR=\"<folder of emu_device.h>\""
#endif

namespace {

enum : int { SUCCESS = 0, OUT_OF_MEMORY = 1, INVALID_INPUT = 3, INVALID_PROGRAM = 4, COMPILATION = 6, INTERNAL = 11 };

struct Program
{
    std::string source, name;
    std::map<std::string, std::string> headers;
    std::string log;
    std::vector<unsigned char> image;
};

std::string quote(const std::string& s)
{
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Runs a shell command; returns its exit status and appends its output (stdout and stderr) to *output.
int run(const std::string& command, std::string* output)
{
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (!p) return -1;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, p)) > 0) output->append(buffer, n);
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool write_file(const std::string& path, const std::string& text)
{
    std::ofstream f(path, std::ios::binary);
    f << text;
    return (bool)f;
}

// The __global__ functions of the preprocessed source, with their __launch_bounds__ thread count when given.
std::vector<std::pair<std::string, std::string>> kernels(const std::string& preprocessed)
{
    static const std::regex marker(R"(an_emu_kernel_marker\s+void\s+(?:an_emu_bounds_marker\s*\(\s*([^,)]+)[^)]*\)\s*)?(\w+)\s*\()");
    std::vector<std::pair<std::string, std::string>> found;
    for (std::sregex_iterator it(preprocessed.begin(), preprocessed.end(), marker), end; it != end; ++it)
        found.emplace_back((*it)[2].str(), (*it)[1].str());
    return found;
}

int compile(Program& p)
{
    const char* cxx_env = getenv("AMBIENT_EMU_CXX");
    std::string cxx = cxx_env && *cxx_env ? cxx_env : "clang++-14";
    char dir_template[] = "/tmp/ambient-emu-nvrtc-XXXXXX";
    if (!mkdtemp(dir_template)) return INTERNAL;
    std::string dir = dir_template;
    std::string source = dir + "/" + (p.name.empty() ? std::string("kernel.cu") : p.name);
    bool ok = write_file(source, p.source);
    for (auto& [name, text] : p.headers) ok = ok && write_file(dir + "/" + name, text);
    if (!ok) { run("rm -rf " + quote(dir), &p.log); return INTERNAL; }

    std::string includes = " -I" + quote(AN_EMU_INCLUDE_DIR) + " -I" + quote(dir) + " -include emu_device.h";
    std::string preprocessed;
    int rc = run(cxx + " -E -P -x c++ -std=c++17 -DAN_EMU_SCAN" + includes + " " + quote(source), &preprocessed);
    if (rc != 0) { p.log = preprocessed; run("rm -rf " + quote(dir), &p.log); return COMPILATION; }

    std::ostringstream entry;
    entry << "#include " << "\"" << source << "\"\n"
          << "#include <utility>\n"
          << "extern \"C\" { an_emu_runtime an_emu_rt; }\n"
          << "template <class... A, std::size_t... I>\n"
          << "static void an_emu_call(void (*k)(A...), void** p, std::index_sequence<I...>) { k(*static_cast<A*>(p[I])...); }\n"
          << "template <class... A>\n"
          << "static void an_emu_invoke(void (*k)(A...), void** p) { an_emu_call(k, p, std::index_sequence_for<A...>{}); }\n"
          << "extern \"C\" char __start_an_emu_shared[] __attribute__((weak)), __stop_an_emu_shared[] __attribute__((weak));\n"
          << "extern \"C\" void an_emu_poison_shared() {\n"
          << "    if (__start_an_emu_shared) memset(__start_an_emu_shared, 0xff, (size_t)(__stop_an_emu_shared - __start_an_emu_shared));\n"
          << "}\n";
    for (auto& [kernel, bounds] : kernels(preprocessed))
    {
        entry << "extern \"C\" void an_emu_entry_" << kernel << "(void** p) { an_emu_invoke(" << kernel << ", p); }\n";
        if (!bounds.empty()) entry << "extern \"C\" const int an_emu_bounds_" << kernel << " = (" << bounds << ");\n";
    }
    std::string entry_file = dir + "/an_emu_entry.cpp", library = dir + "/kernels.so";
    write_file(entry_file, entry.str());
    // No strict aliasing: the kernels read float arrays through float4 pointers, which nvcc allows and C++ does not.
    // No contraction: plain float arithmetic, so the emulator never fuses what the reference computes unfused.
    // -march=native: the library runs where it is built, and fmaf becomes one instruction instead of a libm call.
    // Uninitialised locals get a pattern (NaN-like for floats), not what the previous block left on a reused stack.
    rc = run(cxx + " -x c++ -std=c++17 -O2 -march=native -fPIC -shared -fno-strict-aliasing -ffp-contract=off -Wno-unknown-pragmas"
             " -ftrivial-auto-var-init=pattern" +
             includes + " " + quote(entry_file) + " -o " + quote(library), &p.log);
    if (rc == 0)
    {
        std::ifstream f(library, std::ios::binary);
        std::vector<unsigned char> so((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        uint64_t n = so.size();
        p.image.assign(an_emu_image_magic, an_emu_image_magic + 8);
        p.image.insert(p.image.end(), (unsigned char*)&n, (unsigned char*)&n + 8);
        p.image.insert(p.image.end(), so.begin(), so.end());
    }
    std::string ignored;
    run("rm -rf " + quote(dir), &ignored);
    return rc == 0 && !p.image.empty() ? SUCCESS : COMPILATION;
}

} // namespace

extern "C" {

const char* nvrtcGetErrorString(int result)
{
    switch (result)
    {
        case SUCCESS: return "NVRTC_SUCCESS";
        case OUT_OF_MEMORY: return "NVRTC_ERROR_OUT_OF_MEMORY";
        case INVALID_INPUT: return "NVRTC_ERROR_INVALID_INPUT";
        case INVALID_PROGRAM: return "NVRTC_ERROR_INVALID_PROGRAM";
        case COMPILATION: return "NVRTC_ERROR_COMPILATION";
        case INTERNAL: return "NVRTC_ERROR_INTERNAL_ERROR";
        default: return "NVRTC_ERROR_UNKNOWN";
    }
}

// A version no real NVRTC has (major 0), so kernel caches never mix emulator images with CUBINs. The minor hashes the
// headers compiled into every image (the runtime contract and the built-ins' models), so a cache never hands a
// rebuilt emulator an image made against an older contract: the cache key includes this version.
int nvrtcVersion(int* major, int* minor)
{
    unsigned h = 2166136261u; // FNV-1a
    for (const char* header : {"emu_device.h", "emu_runtime.h"})
    {
        std::ifstream f(std::string(AN_EMU_INCLUDE_DIR) + "/" + header, std::ios::binary);
        if (!f) return INTERNAL;
        for (char c; f.get(c);) h = (h ^ (unsigned char)c) * 16777619u;
    }
    *major = 0;
    *minor = 1 + (int)(h % 1000000u);
    return SUCCESS;
}

int nvrtcCreateProgram(void** program, const char* source, const char* name, int headers, const char* const* contents,
                       const char* const* names)
{
    if (!program || !source) return INVALID_INPUT;
    auto* p = new Program{source, name ? name : "", {}, "", {}};
    for (int i = 0; i < headers; i++)
    {
        if (!contents[i] || !names[i]) { delete p; return INVALID_INPUT; }
        p->headers[names[i]] = contents[i];
    }
    *program = p;
    return SUCCESS;
}

int nvrtcDestroyProgram(void** program)
{
    if (!program || !*program) return INVALID_PROGRAM;
    delete (Program*)*program;
    *program = nullptr;
    return SUCCESS;
}

// Options (architecture, -std, -lineinfo) are NVRTC's business: the host compile ignores them.
int nvrtcCompileProgram(void* program, int, const char* const*)
{
    if (!program) return INVALID_PROGRAM;
    return compile(*(Program*)program);
}

int nvrtcGetProgramLogSize(void* program, size_t* size) { *size = ((Program*)program)->log.size() + 1; return SUCCESS; }
int nvrtcGetProgramLog(void* program, char* log) { auto& l = ((Program*)program)->log; memcpy(log, l.c_str(), l.size() + 1); return SUCCESS; }
int nvrtcGetCUBINSize(void* program, size_t* size) { *size = ((Program*)program)->image.size(); return SUCCESS; }
int nvrtcGetCUBIN(void* program, char* image) { auto& i = ((Program*)program)->image; memcpy(image, i.data(), i.size()); return SUCCESS; }
// The same library stands in for PTX: nothing here produces PTX text.
int nvrtcGetPTXSize(void* program, size_t* size) { return nvrtcGetCUBINSize(program, size); }
int nvrtcGetPTX(void* program, char* image) { return nvrtcGetCUBIN(program, image); }

} // extern "C"
