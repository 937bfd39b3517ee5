namespace DiscriminativeTokens.Parity;

/// <summary>The command line: <c>dct-parity &lt;fixture-folder&gt; [--only a,b] [--device cpu]</c> or <c>--help</c>.</summary>
public sealed record ParityArguments(string Fixture, IReadOnlyList<ParityCheck> Checks, string Device, bool Help)
{
    public static ParityArguments Parse(IReadOnlyList<string> args, IReadOnlyList<ParityCheck> known)
    {
        string? fixture = null;
        string device = "cpu";
        IReadOnlyList<ParityCheck> checks = known;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "-h" or "--help" or "-?":
                    return new ParityArguments("", known, device, Help: true);
                case "--only":
                    checks = SelectChecks(Value(args, ref i, arg), known);
                    break;
                case "--device":
                    device = Value(args, ref i, arg);
                    break;
                default:
                    if (arg.StartsWith("--only=", StringComparison.Ordinal))
                        checks = SelectChecks(arg["--only=".Length..], known);
                    else if (arg.StartsWith("--device=", StringComparison.Ordinal))
                        device = arg["--device=".Length..];
                    else if (arg.StartsWith('-'))
                        throw new ArgumentException($"Unknown option '{arg}'.");
                    else if (fixture is null)
                        fixture = arg;
                    else
                        throw new ArgumentException($"Only one fixture folder is taken; '{arg}' is one too many.");
                    break;
            }
        }
        if (fixture is null)
            throw new ArgumentException("Give the fixture folder, e.g. dct-parity tests/data/sd-tiny.");
        return new ParityArguments(fixture, checks, device, Help: false);
    }

    private static string Value(IReadOnlyList<string> args, ref int i, string option)
    {
        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            throw new ArgumentException($"{option} needs a value.");
        return args[++i];
    }

    private static IReadOnlyList<ParityCheck> SelectChecks(string list, IReadOnlyList<ParityCheck> known)
    {
        string[] names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0)
            throw new ArgumentException("--only needs a comma-separated list of components.");
        foreach (string name in names)
            if (!known.Any(c => c.Component == name))
                throw new ArgumentException($"Unknown component '{name}' in --only; known: {string.Join(", ", known.Select(c => c.Component))}.");
        // Run in the usual order whatever order they were listed in.
        return known.Where(c => names.Contains(c.Component)).ToList();
    }

    public static string Usage(IReadOnlyList<ParityCheck> known)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine("dct-parity: compare the TorchSharp Stable Diffusion components and classifiers with the upstream");
        text.AppendLine("reference tensors.");
        text.AppendLine();
        text.AppendLine("Usage: dct-parity <fixture-folder> [--only component[,component...]] [--device cpu|cuda|cuda:N]");
        text.AppendLine("       dct-parity --help");
        text.AppendLine();
        text.AppendLine("<fixture-folder> is a diffusers model folder in the sd-tiny layout (model_index.json, tokenizer/,");
        text.AppendLine("text_encoder/, unet/, vae/, scheduler/, and the classifier vit-tiny/) with the reference tensors in");
        text.AppendLine("<fixture-folder>/reference/ (e.g. tests/data/sd-tiny; reference/README.md there says how each");
        text.AppendLine("tensor was made).");
        text.AppendLine();
        text.AppendLine("Components (all by default):");
        foreach (var check in known)
        {
            string[] lines = Wrap(check.Description, 82);
            text.AppendLine($"  {check.Component,-15} {lines[0]}");
            foreach (string line in lines[1..])
                text.AppendLine($"{"",18}{line}");
        }
        text.AppendLine();
        text.AppendLine("Output: one line per compared tensor (component, tensor, shape, max abs error, tolerance, OK/FAIL),");
        text.AppendLine("then a summary line. Tolerances: max abs error <= 1e-4*max(1, max|ref|) for model outputs,");
        text.AppendLine("1e-5*max(1, max|ref|) for scheduler trajectories, 1e-3*max|ref| for gradients (relative to");
        text.AppendLine("the gradient's own scale), exact for ids, integer tensors and timesteps.");
        text.AppendLine();
        text.AppendLine("Exit codes: 0 all within tolerance; 1 any tensor out of tolerance (or a check stopped by an error);");
        text.AppendLine("            2 usage or loading error (missing folder, file or tensor; a model that does not load).");
        return text.ToString();
    }

    private static string[] Wrap(string text, int width)
    {
        var lines = new List<string>();
        var line = new System.Text.StringBuilder();
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        lines.Add(line.ToString());
        return [.. lines];
    }
}
