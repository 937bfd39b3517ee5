using System.Globalization;

namespace DiscriminativeTokens.Parity;

/// <summary>
/// The command's output: a header, one aligned row per compared tensor (component, tensor, shape, max abs error,
/// tolerance, OK/FAIL) and a summary line. Rows are written as they come; columns are wide enough for the names this
/// command knows, and a longer value widens its column from then on.
/// </summary>
public sealed class ComparisonReport(TextWriter writer)
{
    private readonly int[] _widths = [14, 34, 18, 11, 11];
    private readonly List<TensorComparison> _rows = [];
    private readonly List<string> _errors = [];

    public IReadOnlyList<TensorComparison> Rows => _rows;
    public int Failures => _rows.Count(r => !r.Passed) + _errors.Count;

    public void WriteHeader() => WriteLine(["component", "tensor", "shape", "max abs err", "tolerance", "result"]);

    public void Add(TensorComparison row)
    {
        _rows.Add(row);
        string result = row.Passed ? "OK" : "FAIL";
        if (row.Note is not null) result += $" ({row.Note})";
        WriteLine([row.Component, row.Name, TensorComparer.Format(row.Shape), Number(row.MaxAbsError),
                   row.Exact ? "exact" : Number(row.Limit), result]);
    }

    /// <summary>A check that stopped with an error counts as a failure of its component.</summary>
    public void AddError(string component, string message)
    {
        _errors.Add(component);
        WriteLine([component, "(check stopped)", "-", "-", "-", $"FAIL ({message})"]);
    }

    public void WriteSummary()
    {
        int passed = _rows.Count(r => r.Passed);
        string components = string.Join(", ", _rows.Select(r => r.Component).Concat(_errors).Distinct());
        string errors = _errors.Count == 0 ? "" : $", {_errors.Count} check(s) stopped by an error";
        string verdict = Failures == 0 ? "all within tolerance" : "PARITY FAILED";
        var rules = _rows.Select(r => r.Rule).OfType<string>().Distinct().ToList();
        if (rules.Count > 0)
            writer.WriteLine($"tolerances used (limit on max abs err): {string.Join("; ", rules)}");
        writer.WriteLine($"summary: {_rows.Count} tensors compared, {passed} OK, {_rows.Count - passed} FAIL{errors} " +
                         $"({components}): {verdict}");
    }

    private static string Number(double value) =>
        double.IsNaN(value) ? "NaN" : value == 0 ? "0" : value.ToString("0.000E+00", CultureInfo.InvariantCulture);

    private void WriteLine(string[] cells)
    {
        var line = new System.Text.StringBuilder();
        for (int i = 0; i < cells.Length; i++)
        {
            if (i < _widths.Length)
            {
                _widths[i] = Math.Max(_widths[i], cells[i].Length);
                // Numbers are right-aligned, text left-aligned.
                line.Append(i is 3 or 4 ? cells[i].PadLeft(_widths[i]) : cells[i].PadRight(_widths[i]));
                line.Append("  ");
            }
            else
            {
                line.Append(cells[i]);
            }
        }
        writer.WriteLine(line.ToString().TrimEnd());
    }
}
