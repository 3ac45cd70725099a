using Spectre.Console;

namespace Ambient.Cli.Common;

/// <summary>
/// Spectre.Console progress bars with a live description (loss, images/s), percentage, elapsed time and ETA. On a
/// console that is not interactive (CI logs, redirected output) Spectre prints the task at 25/50/75/95–100 %.
/// </summary>
internal static class ProgressView
{
    /// <summary>Runs <paramref name="work"/> with one bar of <paramref name="total"/> units; it reports (done, description).</summary>
    public static T Run<T>(CliContext cli, string description, double total, Func<Action<double, string?>, T> work)
    {
        T result = default!;
        cli.Console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                result = work((done, text) =>
                {
                    task.Value = done;
                    if (text != null) task.Description = Markup.Escape(text);
                });
                task.Value = task.MaxValue;
            });
        return result;
    }
}
