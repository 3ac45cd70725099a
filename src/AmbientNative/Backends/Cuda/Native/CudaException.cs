namespace AmbientNative.Backends.Cuda.Native;

/// <summary>A CUDA driver call failed. The message names the call, the error code's name and its description.</summary>
public class CudaException : Exception
{
    public CudaException(string call, int code, string codeName, string description, string? context = null)
        : base($"{call} failed: {codeName} ({code}): {description}" + (context == null ? "" : $" [{context}]"))
    {
        Call = call; Code = code; CodeName = codeName;
    }

    public string Call { get; }
    public int Code { get; }
    public string CodeName { get; }
}

/// <summary>NVRTC failed; for a compile error the message carries the compiler's log.</summary>
public sealed class NvrtcException(string message, string log = "") : Exception(message)
{
    public string Log { get; } = log;
}

/// <summary>No usable CUDA device: the driver library, NVRTC or a device is missing. The message says which, in one line.</summary>
public sealed class CudaUnavailableException(string reason) : Exception(reason);
