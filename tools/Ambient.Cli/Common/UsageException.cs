namespace Ambient.Cli.Common;

/// <summary>
/// A command line that parses but does not make sense (an option combination, a value out of range). Printed as one
/// line; exit code 2, like a parse error, so scripts can tell "you called it wrong" from "the run failed" (1).
/// </summary>
internal sealed class UsageException(string message) : Exception(message);
