using System.Globalization;

namespace DiscriminativeTokens.Diffusion.Text.Unicode;

/// <summary>
/// The parts of Python 3.11's Unicode database (Unicode 14.0) and of ftfy's HTML entity table that CLIP's text
/// normalization depends on, read from
/// the embedded python-unicode-tables.txt (see generate_python_unicode_tables.py). The reference tokenizer runs in
/// Python; .NET under invariant globalization cannot normalize and lower-cases by a newer Unicode version, so parity
/// needs Python's own tables.
/// </summary>
internal sealed class PythonUnicodeTables
{
    private const string ResourceName = "DiscriminativeTokens.Diffusion.Text.Unicode.python-unicode-tables.txt";
    private static readonly Lazy<PythonUnicodeTables> Shared = new(Load);

    public static PythonUnicodeTables Instance => Shared.Value;

    /// <summary>str.lower() of each code point whose lower case differs from itself.</summary>
    public IReadOnlyDictionary<int, string> LowerCase { get; }

    /// <summary>Canonical combining class of each code point whose class is not 0.</summary>
    public IReadOnlyDictionary<int, byte> CombiningClass { get; }

    /// <summary>One level of canonical decomposition (Hangul syllables excluded: they decompose algorithmically).</summary>
    public IReadOnlyDictionary<int, int[]> CanonicalDecomposition { get; }

    /// <summary>Primary composites: (first, second) -> composed code point.</summary>
    public IReadOnlyDictionary<(int First, int Second), int> Composition { get; }

    /// <summary>ftfy's fix_character_width replacements.</summary>
    public IReadOnlyDictionary<int, string> WidthReplacement { get; }

    /// <summary>ftfy's HTML entities, by name with its ';' (e.g. "amp;", "EACUTE;").</summary>
    public IReadOnlyDictionary<string, string> HtmlEntities { get; }

    private readonly (int First, int Last)[] _cased;
    private readonly (int First, int Last)[] _caseIgnorable;

    private PythonUnicodeTables(
        Dictionary<int, string> lowerCase, Dictionary<int, byte> combiningClass, Dictionary<int, int[]> decomposition,
        Dictionary<(int, int), int> composition, Dictionary<int, string> widthReplacement,
        Dictionary<string, string> htmlEntities, List<(int, int)> cased, List<(int, int)> caseIgnorable)
    {
        LowerCase = lowerCase;
        CombiningClass = combiningClass;
        CanonicalDecomposition = decomposition;
        Composition = composition;
        WidthReplacement = widthReplacement;
        HtmlEntities = htmlEntities;
        _cased = cased.ToArray();
        _caseIgnorable = caseIgnorable.ToArray();
    }

    public bool IsCased(int codePoint) => InRanges(_cased, codePoint);

    public bool IsCaseIgnorable(int codePoint) => InRanges(_caseIgnorable, codePoint);

    public byte CombiningClassOf(int codePoint) => CombiningClass.TryGetValue(codePoint, out byte ccc) ? ccc : (byte)0;

    private static bool InRanges((int First, int Last)[] ranges, int codePoint)
    {
        int lo = 0, hi = ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (codePoint < ranges[mid].First) hi = mid - 1;
            else if (codePoint > ranges[mid].Last) lo = mid + 1;
            else return true;
        }
        return false;
    }

    private static PythonUnicodeTables Load()
    {
        using Stream stream = typeof(PythonUnicodeTables).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing from " +
                                                   $"{typeof(PythonUnicodeTables).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        var lower = new Dictionary<int, string>();
        var combining = new Dictionary<int, byte>();
        var decomposition = new Dictionary<int, int[]>();
        var composition = new Dictionary<(int, int), int>();
        var width = new Dictionary<int, string>();
        var entities = new Dictionary<string, string>(StringComparer.Ordinal);
        var cased = new List<(int, int)>();
        var ignorable = new List<(int, int)>();
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            if (line.Length == 0 || line[0] == '#')
                continue;
            string[] f = line.Split(' ');
            switch (f[0])
            {
                case "L":
                    lower[Hex(f[1])] = Text(f, 2);
                    break;
                case "K":
                    cased.Add((Hex(f[1]), Hex(f[2])));
                    break;
                case "I":
                    ignorable.Add((Hex(f[1]), Hex(f[2])));
                    break;
                case "C":
                    byte ccc = byte.Parse(f[3], CultureInfo.InvariantCulture);
                    for (int cp = Hex(f[1]); cp <= Hex(f[2]); cp++)
                        combining[cp] = ccc;
                    break;
                case "D":
                    bool excluded = f[^1] == "x";
                    int[] parts = f.Skip(2).Take(f.Length - 2 - (excluded ? 1 : 0)).Select(Hex).ToArray();
                    int composite = Hex(f[1]);
                    decomposition[composite] = parts;
                    if (parts.Length == 2 && !excluded)
                        composition[(parts[0], parts[1])] = composite;
                    break;
                case "W":
                    width[Hex(f[1])] = Text(f, 2);
                    break;
                case "E":
                    entities[f[1]] = Text(f, 2);
                    break;
                default:
                    throw new InvalidDataException($"{ResourceName} line {lineNumber}: unknown record '{f[0]}'.");
            }
        }
        return new PythonUnicodeTables(lower, combining, decomposition, composition, width, entities, cased, ignorable);
    }

    private static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static string Text(string[] fields, int start) =>
        string.Concat(fields.Skip(start).Select(h => char.ConvertFromUtf32(Hex(h))));
}
