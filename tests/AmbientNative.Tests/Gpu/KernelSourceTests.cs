using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using AmbientNative.Backends.Cuda;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// The CUDA C kernels, checked in CI without a GPU (no category: these run everywhere clang is installed): every
/// file compiles (clang's CUDA front end, see <see cref="ClangCuda"/>), every kernel keeps its unmangled name, and
/// every argument struct the backend passes by value has the C struct's exact layout: same size, and at every C#
/// field's offset a C field of the same name. A kernel written on a machine without a GPU is otherwise unchecked
/// until its first GPU run, and a layout mismatch there shows only as wrong numbers.
/// </summary>
public partial class KernelSourceTests
{
    /// <summary>C# argument structs whose C twin has another name (the C# names avoid clashing with other types).</summary>
    private static readonly Dictionary<string, string> CName = new()
    {
        ["GroupNormKernelArgs"] = "GnArgs",
        ["GemmKernelArgs"] = "GemmArgs",
    };

    public static IEnumerable<string> CudaFiles => KernelSources.Files.Where(f => f.EndsWith(".cu", StringComparison.Ordinal));

    /// <summary>Every value type named *Args in the CUDA backend: the by-value kernel argument blocks.</summary>
    public static IEnumerable<TestCaseData> ArgumentStructs() =>
        typeof(CudaBackend).Assembly.GetTypes()
            .Where(t => t.IsValueType && t.Namespace == typeof(CudaBackend).Namespace && t.Name.EndsWith("Args", StringComparison.Ordinal))
            .OrderBy(t => t.Name)
            .Select(t => new TestCaseData(t).SetArgDisplayNames(t.Name));

    private static ClangCuda? _clang;
    private static readonly Dictionary<string, (int Size, List<(int Offset, string Name)> Fields)> AllLayouts = [];

    [OneTimeSetUp]
    public void CompileOnce()
    {
        _clang = ClangCuda.Create();
        try
        {
            foreach (var f in CudaFiles)
                foreach (var (name, layout) in _clang.Layouts(f))
                {
                    // A struct every file sees (from a header) is laid out once per file; two different ones of one name would be ambiguous.
                    if (AllLayouts.TryGetValue(name, out var seen))
                        Assert.That(layout.Size == seen.Size && layout.Fields.SequenceEqual(seen.Fields),
                            $"two different C structs are named {name} (the second in {f})");
                    AllLayouts[name] = layout;
                }
        }
        catch { _clang.Dispose(); throw; } // NUnit skips the teardown when the setup fails: remove the temporary copy here

    }

    [OneTimeTearDown]
    public void Cleanup() => _clang?.Dispose();

    [TestCaseSource(nameof(CudaFiles))]
    public void Compiles_without_warnings_and_keeps_every_kernel_name(string file)
    {
        var ptx = _clang!.Ptx(file);
        var declared = GlobalKernel().Matches(_clang.Preprocessed(file)).Select(m => m.Groups[1].Value).ToHashSet();
        var entries = PtxEntry().Matches(ptx).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.That(declared, Is.Not.Empty, $"{file} declares kernels");
        Assert.That(entries, Is.SupersetOf(declared), $"{file}: every __global__ function is a PTX entry under its own (extern \"C\", unmangled) name");
    }

    [Test]
    public void Every_kernel_file_and_argument_struct_is_found() =>
        // 10 files and 21 structs on 2026-12-03: fewer means the discovery broke, not that kernels went away.
        Assert.Multiple(() =>
        {
            Assert.That(CudaFiles.Count(), Is.GreaterThanOrEqualTo(10));
            Assert.That(ArgumentStructs().Count(), Is.GreaterThanOrEqualTo(21));
        });

    [TestCaseSource(nameof(ArgumentStructs))]
    public void Argument_struct_matches_its_C_layout(Type args)
    {
        string cName = CName.GetValueOrDefault(args.Name, args.Name);
        Assert.That(AllLayouts.TryGetValue(cName, out var c), $"no C struct {cName} in kernels/*.cu for {args.Name}");
        Assert.That(Marshal.SizeOf(args), Is.EqualTo(c.Size), $"sizeof({cName}) in C vs {args.Name} in C#");
        foreach (var field in args.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            int offset = (int)Marshal.OffsetOf(args, field.Name);
            var at = c.Fields.Where(f => f.Offset == offset).Select(f => Normalize(f.Name)).ToList();
            Assert.That(at, Does.Contain(Normalize(field.Name)),
                $"{args.Name}.{field.Name} at byte {offset}: C's {cName} has [{string.Join(", ", c.Fields.Where(f => f.Offset == offset).Select(f => f.Name))}] there");
        }
        Assert.That(c.Fields.Count, Is.EqualTo(args.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Length),
            $"{cName} and {args.Name} have as many fields");
    }

    /// <summary>C's snake_case and C#'s PascalCase compare equal ("step_size" = "StepSize"); C# fixed buffers are named alike.</summary>
    private static string Normalize(string name) => name.Replace("_", "").Replace("<", "").Replace(">e__FixedBuffer", "").ToLowerInvariant();

    // Any __global__ function, extern "C" or not: one without it would get a mangled name the backend cannot launch by.
    [GeneratedRegex(@"__global__\s+(?:__launch_bounds__\([^)]*\)\s+)?void\s+(?:__launch_bounds__\([^)]*\)\s+)?(\w+)\s*\(")]
    private static partial Regex GlobalKernel();

    [GeneratedRegex(@"\.entry\s+(\w+)\s*\(")]
    private static partial Regex PtxEntry();
}
