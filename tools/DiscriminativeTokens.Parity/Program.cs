using DiscriminativeTokens.Parity;
using DiscriminativeTokens.Torch;

// Exit codes: 0 parity, 1 a tensor out of tolerance, 2 usage or loading error.
ParityArguments arguments;
try
{
    arguments = ParityArguments.Parse(args, ParityChecks.All);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"dct-parity: {e.Message}");
    Console.Error.WriteLine("Run dct-parity --help for usage.");
    return 2;
}
if (arguments.Help)
{
    Console.Out.Write(ParityArguments.Usage(ParityChecks.All));
    return 0;
}

var report = new ComparisonReport(Console.Out);
try
{
    using var fixture = new ParityFixture(arguments.Fixture, DeviceSelection.Parse(arguments.Device));
    report.WriteHeader();
    foreach (var check in arguments.Checks)
    {
        using var rows = check.Run(fixture).GetEnumerator();
        while (true)
        {
            try
            {
                if (!rows.MoveNext()) break;
            }
            catch (Exception e) when (e is not ParityLoadException)
            {
                // A component that throws has no parity; report it and go on with the others.
                report.AddError(check.Component, $"{e.GetType().Name}: {e.Message}");
                break;
            }
            report.Add(rows.Current);
        }
    }
}
catch (ParityLoadException e)
{
    Console.Out.Flush();
    Console.Error.WriteLine($"dct-parity: {e.Message}");
    return 2;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"dct-parity: {e.Message}");
    return 2;
}

report.WriteSummary();
return report.Failures == 0 ? 0 : 1;
